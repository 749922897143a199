{
  "targets": [
    {
      "target_name": "ebpf",
      "sources": ["ebpf.c"],
      "include_dirs": ["deps/include"],
      "cflags": ["-std=gnu11", "-O2", "-Wall", "-Wno-missing-field-initializers", "-fvisibility=hidden"],
      "defines": ["NAPI_VERSION=8"],
      "libraries": [
        "<(module_root_dir)/deps/lib/libbpf.a",
        "<(module_root_dir)/deps/lib/libelf.a",
        "/usr/lib/<!(gcc -print-multiarch)/libz.a",
        "-Wl,--exclude-libs,ALL",
        "-Wl,--as-needed"
      ]
    }
  ]
}
