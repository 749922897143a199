// SPDX-License-Identifier: MIT
/*
 * ebpf-tools native addon: a thin, libbpf-shaped N-API binding.
 *
 * Policy (which hooks, fallbacks, error wording) lives in TypeScript (lib/).
 * This file only exposes libbpf: objects, programs, maps, links, and ring /
 * perf buffer readers driven by the libuv loop. Every handle has an
 * idempotent close(); an object closes its links and readers; an environment
 * cleanup hook closes whatever is still open when Node tears down.
 *
 * Errors are thrown as Error objects with {operation, errno, code}.
 */
#define _GNU_SOURCE
#include <errno.h>
#ifndef ENOTSUPP
#define ENOTSUPP 524 /* kernel-internal, seen from BPF syscalls */
#endif
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/syscall.h>
#include <linux/perf_event.h>

#include <node_api.h>
#include <uv.h>

#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>

#define CHECK(call)                                                            \
	do {                                                                   \
		if ((call) != napi_ok)                                         \
			return NULL;                                           \
	} while (0)

/* ------------------------------------------------------------------------ */
/* libbpf log capture                                                        */

static char *log_buf;
static size_t log_len, log_cap;
static int log_level = LIBBPF_INFO; /* capture WARN and INFO by default */
#define LOG_MAX (8u << 20)

static int print_fn(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	char tmp[4096];
	int n;

	if ((int)level > log_level)
		return 0;
	n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
	if (n <= 0)
		return 0;
	if ((size_t)n >= sizeof(tmp))
		n = sizeof(tmp) - 1;
	if (log_len + n > LOG_MAX) {
		/* keep the tail: the last lines explain a failure */
		size_t drop = log_len / 2;
		memmove(log_buf, log_buf + drop, log_len - drop);
		log_len -= drop;
	}
	if (log_len + n + 1 > log_cap) {
		size_t cap = log_cap ? log_cap * 2 : 65536;
		char *p;

		while (cap < log_len + n + 1)
			cap *= 2;
		p = realloc(log_buf, cap);
		if (!p)
			return 0;
		log_buf = p;
		log_cap = cap;
	}
	memcpy(log_buf + log_len, tmp, n);
	log_len += n;
	log_buf[log_len] = 0;
	return 0;
}

/* ------------------------------------------------------------------------ */
/* errors                                                                    */

static napi_value throw_errno(napi_env env, const char *op, int err)
{
	char msg[512];
	napi_value e, m, v;
	const char *code;

	if (err < 0)
		err = -err;
	if (!err)
		err = EINVAL;
	code = uv_err_name(-err);
	snprintf(msg, sizeof(msg), "%s: %s", op, strerror(err));
	napi_create_string_utf8(env, msg, NAPI_AUTO_LENGTH, &m);
	napi_create_error(env, NULL, m, &e);
	napi_create_string_utf8(env, op, NAPI_AUTO_LENGTH, &v);
	napi_set_named_property(env, e, "operation", v);
	napi_create_int32(env, err, &v);
	napi_set_named_property(env, e, "errno", v);
	napi_create_string_utf8(env, code, NAPI_AUTO_LENGTH, &v);
	napi_set_named_property(env, e, "code", v);
	napi_throw(env, e);
	return NULL;
}

static napi_value throw_msg(napi_env env, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	napi_throw_error(env, "EBPF_USAGE", msg);
	return NULL;
}

/* ------------------------------------------------------------------------ */
/* argument helpers                                                          */

static bool get_string(napi_env env, napi_value v, char *buf, size_t len)
{
	size_t n;

	return napi_get_value_string_utf8(env, v, buf, len, &n) == napi_ok;
}

static bool get_prop(napi_env env, napi_value obj, const char *name, napi_value *out)
{
	bool has = false;
	napi_valuetype t;

	if (napi_has_named_property(env, obj, name, &has) != napi_ok || !has)
		return false;
	if (napi_get_named_property(env, obj, name, out) != napi_ok)
		return false;
	if (napi_typeof(env, *out, &t) != napi_ok)
		return false;
	return t != napi_undefined && t != napi_null;
}

static int64_t prop_i64(napi_env env, napi_value obj, const char *name, int64_t def)
{
	napi_value v;
	int64_t r;
	napi_valuetype t;
	bool lossless;

	if (!get_prop(env, obj, name, &v))
		return def;
	napi_typeof(env, v, &t);
	if (t == napi_bigint) {
		napi_get_value_bigint_int64(env, v, &r, &lossless);
		return r;
	}
	if (napi_get_value_int64(env, v, &r) != napi_ok)
		return def;
	return r;
}

static bool prop_bool(napi_env env, napi_value obj, const char *name, bool def)
{
	napi_value v;
	bool r;

	if (!get_prop(env, obj, name, &v))
		return def;
	if (napi_get_value_bool(env, v, &r) != napi_ok)
		return def;
	return r;
}

static bool prop_str(napi_env env, napi_value obj, const char *name, char *buf, size_t len)
{
	napi_value v;

	buf[0] = 0;
	if (!get_prop(env, obj, name, &v))
		return false;
	return get_string(env, v, buf, len);
}

static napi_value make_u32(napi_env env, uint32_t x)
{
	napi_value v;

	napi_create_uint32(env, x, &v);
	return v;
}

static napi_value make_str(napi_env env, const char *s)
{
	napi_value v;

	napi_create_string_utf8(env, s ? s : "", NAPI_AUTO_LENGTH, &v);
	return v;
}

/* ------------------------------------------------------------------------ */
/* handles                                                                   */

enum handle_kind { H_OBJECT, H_LINK, H_RINGBUF, H_PERFBUF };

struct handle {
	enum handle_kind kind;
	struct handle *parent;		/* the object, for links and readers */
	struct handle *next, *prev;	/* siblings under the parent, or global list for objects */
	struct handle *children;
	bool closed;
	bool js_gone;			/* the JS wrapper was finalized */
	bool uv_pending;		/* uv handles still closing */
	napi_env env;
};

struct object {
	struct handle h;
	struct bpf_object *obj;
	bool loaded;
};

struct link {
	struct handle h;
	struct bpf_link *link;
};

struct reader {
	struct handle h;
	struct ring_buffer *rb;
	struct perf_buffer *pb;
	uv_poll_t poll;
	uv_timer_t timer;
	int uv_open;			/* uv handles not yet closed */
	napi_ref cb;
	napi_async_context actx;
	uint8_t *batch;
	size_t batch_len, batch_cap;
	uint64_t lost;			/* perf buffer lost samples, since last callback */
	uint64_t lost_total;
	bool in_consume;
	int error;
};

static struct handle *objects; /* every open object */

static void list_add(struct handle **head, struct handle *h)
{
	h->prev = NULL;
	h->next = *head;
	if (*head)
		(*head)->prev = h;
	*head = h;
}

static void list_del(struct handle **head, struct handle *h)
{
	if (h->prev)
		h->prev->next = h->next;
	else if (*head == h)
		*head = h->next;
	if (h->next)
		h->next->prev = h->prev;
	h->next = h->prev = NULL;
}

static void maybe_free(struct handle *h)
{
	if (h->closed && h->js_gone && !h->uv_pending)
		free(h);
}

static void reader_uv_closed(uv_handle_t *uh)
{
	struct reader *r = uh->data;

	if (--r->uv_open == 0) {
		r->h.uv_pending = false;
		maybe_free(&r->h);
	}
}

static void handle_close(struct handle *h);

static void close_children(struct handle *h)
{
	while (h->children)
		handle_close(h->children);
}

static void handle_close(struct handle *h)
{
	if (h->closed)
		return;
	h->closed = true;
	close_children(h);
	if (h->parent)
		list_del(&h->parent->children, h);
	else if (h->kind == H_OBJECT)
		list_del(&objects, h);
	h->parent = NULL;

	switch (h->kind) {
	case H_OBJECT: {
		struct object *o = (struct object *)h;

		bpf_object__close(o->obj);
		o->obj = NULL;
		break;
	}
	case H_LINK: {
		struct link *l = (struct link *)h;

		bpf_link__destroy(l->link);
		l->link = NULL;
		break;
	}
	case H_RINGBUF:
	case H_PERFBUF: {
		struct reader *r = (struct reader *)h;

		if (r->uv_open) {
			h->uv_pending = true;
			uv_poll_stop(&r->poll);
			uv_timer_stop(&r->timer);
			uv_close((uv_handle_t *)&r->poll, reader_uv_closed);
			uv_close((uv_handle_t *)&r->timer, reader_uv_closed);
		}
		if (r->rb)
			ring_buffer__free(r->rb);
		if (r->pb)
			perf_buffer__free(r->pb);
		r->rb = NULL;
		r->pb = NULL;
		if (r->cb) {
			napi_delete_reference(h->env, r->cb);
			r->cb = NULL;
		}
		if (r->actx) {
			napi_async_destroy(h->env, r->actx);
			r->actx = NULL;
		}
		free(r->batch);
		r->batch = NULL;
		break;
	}
	}
	/* a child whose wrapper is already gone is freed here (or when its uv
	 * handles finish closing) */
	if (h->kind != H_OBJECT)
		maybe_free(h);
}

static void handle_finalize(napi_env env, void *data, void *hint)
{
	struct handle *h = data;

	(void)env;
	(void)hint;
	h->js_gone = true;
	/* A link or reader whose wrapper is collected stays attached: it belongs
	 * to its object until closed explicitly or with the object. */
	if (h->parent && !h->closed)
		return;
	handle_close(h);
	maybe_free(h);
}

static void env_cleanup(void *arg)
{
	(void)arg;
	while (objects)
		handle_close(objects);
}

static struct handle *unwrap(napi_env env, napi_callback_info info, size_t *argc,
			     napi_value *argv, enum handle_kind kind, bool must_be_open)
{
	napi_value self;
	void *p = NULL;
	struct handle *h;

	if (napi_get_cb_info(env, info, argc, argv, &self, NULL) != napi_ok)
		return NULL;
	if (napi_unwrap(env, self, &p) != napi_ok || !p) {
		throw_msg(env, "invalid handle");
		return NULL;
	}
	h = p;
	if (h->kind != kind && !(kind == H_RINGBUF && h->kind == H_PERFBUF)) {
		throw_msg(env, "wrong handle type");
		return NULL;
	}
	if (must_be_open && h->closed) {
		throw_msg(env, "handle is closed");
		return NULL;
	}
	return h;
}

static napi_value js_close(napi_env env, napi_callback_info info)
{
	napi_value self;
	void *p = NULL;

	CHECK(napi_get_cb_info(env, info, NULL, NULL, &self, NULL));
	if (napi_unwrap(env, self, &p) == napi_ok && p)
		handle_close(p);
	return NULL;
}

static napi_value js_closed(napi_env env, napi_callback_info info)
{
	napi_value self, r;
	void *p = NULL;

	CHECK(napi_get_cb_info(env, info, NULL, NULL, &self, NULL));
	napi_unwrap(env, self, &p);
	napi_get_boolean(env, !p || ((struct handle *)p)->closed, &r);
	return r;
}

/* ------------------------------------------------------------------------ */
/* classes                                                                   */

static napi_ref link_ctor, ringbuf_ctor, perfbuf_ctor;

static napi_value new_instance(napi_env env, napi_ref ctor_ref, struct handle *h)
{
	napi_value ctor, inst;

	CHECK(napi_get_reference_value(env, ctor_ref, &ctor));
	CHECK(napi_new_instance(env, ctor, 0, NULL, &inst));
	if (napi_wrap(env, inst, h, handle_finalize, NULL, NULL) != napi_ok) {
		handle_close(h);
		free(h);
		return NULL;
	}
	return inst;
}

/* Constructors of Link / readers are internal: they are created empty and
 * wrapped by the factory methods. */
static napi_value js_internal_ctor(napi_env env, napi_callback_info info)
{
	napi_value self;

	CHECK(napi_get_cb_info(env, info, NULL, NULL, &self, NULL));
	return self;
}

/* ------------------------------------------------------------------------ */
/* BpfObject                                                                 */

static struct object *obj_of(napi_env env, napi_callback_info info, size_t *argc, napi_value *argv)
{
	return (struct object *)unwrap(env, info, argc, argv, H_OBJECT, true);
}

/* new BpfObject(pathOrBuffer, name?) */
static napi_value js_object_new(napi_env env, napi_callback_info info)
{
	size_t argc = 2;
	napi_value argv[2], self;
	char path[4096], name[64] = "";
	bool is_buf = false;
	struct bpf_object *bo;
	struct object *o;
	LIBBPF_OPTS(bpf_object_open_opts, opts);

	CHECK(napi_get_cb_info(env, info, &argc, argv, &self, NULL));
	if (argc < 1)
		return throw_msg(env, "BpfObject(path | buffer, name?)");
	if (argc > 1)
		get_string(env, argv[1], name, sizeof(name));
	if (name[0])
		opts.object_name = name;
	napi_is_buffer(env, argv[0], &is_buf);
	if (is_buf) {
		void *data;
		size_t len;

		CHECK(napi_get_buffer_info(env, argv[0], &data, &len));
		bo = bpf_object__open_mem(data, len, &opts);
	} else {
		if (!get_string(env, argv[0], path, sizeof(path)))
			return throw_msg(env, "BpfObject: path must be a string or Buffer");
		bo = bpf_object__open_file(path, &opts);
	}
	if (!bo)
		return throw_errno(env, "bpf_object__open", errno);
	o = calloc(1, sizeof(*o));
	if (!o) {
		bpf_object__close(bo);
		return throw_errno(env, "calloc", ENOMEM);
	}
	o->h.kind = H_OBJECT;
	o->h.env = env;
	o->obj = bo;
	list_add(&objects, &o->h);
	if (napi_wrap(env, self, o, handle_finalize, NULL, NULL) != napi_ok) {
		handle_close(&o->h);
		free(o);
		return NULL;
	}
	return self;
}

static struct bpf_map *find_map(napi_env env, struct object *o, napi_value v)
{
	char name[256];
	struct bpf_map *m;

	if (!get_string(env, v, name, sizeof(name))) {
		throw_msg(env, "map name must be a string");
		return NULL;
	}
	m = bpf_object__find_map_by_name(o->obj, name);
	if (!m)
		throw_errno(env, name, ENOENT);
	return m;
}

static struct bpf_program *find_prog(napi_env env, struct object *o, napi_value v)
{
	char name[256];
	struct bpf_program *p;

	if (!get_string(env, v, name, sizeof(name))) {
		throw_msg(env, "program name must be a string");
		return NULL;
	}
	p = bpf_object__find_program_by_name(o->obj, name);
	if (!p)
		throw_errno(env, name, ENOENT);
	return p;
}

static bool is_percpu(enum bpf_map_type t)
{
	return t == BPF_MAP_TYPE_PERCPU_ARRAY || t == BPF_MAP_TYPE_PERCPU_HASH ||
	       t == BPF_MAP_TYPE_LRU_PERCPU_HASH || t == BPF_MAP_TYPE_PERCPU_CGROUP_STORAGE;
}

/* Size of a user-space value buffer: per-CPU maps carry one 8-aligned slot per possible CPU. */
static size_t value_buf_size(const struct bpf_map *m)
{
	size_t vs = bpf_map__value_size(m);

	if (is_percpu(bpf_map__type(m))) {
		int n = libbpf_num_possible_cpus();

		return ((vs + 7) & ~(size_t)7) * (n > 0 ? n : 1);
	}
	return vs;
}

static napi_value js_object_maps(napi_env env, napi_callback_info info)
{
	struct object *o = obj_of(env, info, NULL, NULL);
	struct bpf_map *m;
	napi_value arr, e, v;
	uint32_t i = 0;

	if (!o)
		return NULL;
	CHECK(napi_create_array(env, &arr));
	bpf_object__for_each_map(m, o->obj) {
		napi_create_object(env, &e);
		napi_set_named_property(env, e, "name", make_str(env, bpf_map__name(m)));
		napi_set_named_property(env, e, "type", make_u32(env, bpf_map__type(m)));
		napi_set_named_property(env, e, "keySize", make_u32(env, bpf_map__key_size(m)));
		napi_set_named_property(env, e, "valueSize", make_u32(env, bpf_map__value_size(m)));
		napi_set_named_property(env, e, "valueBufferSize", make_u32(env, value_buf_size(m)));
		napi_set_named_property(env, e, "maxEntries", make_u32(env, bpf_map__max_entries(m)));
		napi_get_boolean(env, bpf_map__is_internal(m), &v);
		napi_set_named_property(env, e, "internal", v);
		napi_create_int32(env, o->loaded ? bpf_map__fd(m) : -1, &v);
		napi_set_named_property(env, e, "fd", v);
		napi_set_element(env, arr, i++, e);
	}
	return arr;
}

static napi_value js_object_programs(napi_env env, napi_callback_info info)
{
	struct object *o = obj_of(env, info, NULL, NULL);
	struct bpf_program *p;
	napi_value arr, e, v;
	uint32_t i = 0;

	if (!o)
		return NULL;
	CHECK(napi_create_array(env, &arr));
	bpf_object__for_each_program(p, o->obj) {
		napi_create_object(env, &e);
		napi_set_named_property(env, e, "name", make_str(env, bpf_program__name(p)));
		napi_set_named_property(env, e, "section", make_str(env, bpf_program__section_name(p)));
		napi_get_boolean(env, bpf_program__autoload(p), &v);
		napi_set_named_property(env, e, "autoload", v);
		napi_set_element(env, arr, i++, e);
	}
	return arr;
}

/* setGlobal(name, buffer): write a global variable's initial value
 * (const volatile rodata, .data or .bss) before load. */
static napi_value js_object_set_global(napi_env env, napi_callback_info info)
{
	size_t argc = 2;
	napi_value argv[2];
	struct object *o = obj_of(env, info, &argc, argv);
	char name[256];
	void *data;
	size_t len;
	struct btf *btf;
	struct bpf_map *m;

	if (!o)
		return NULL;
	if (argc < 2 || !get_string(env, argv[0], name, sizeof(name)))
		return throw_msg(env, "setGlobal(name, buffer)");
	CHECK(napi_get_buffer_info(env, argv[1], &data, &len));
	if (o->loaded)
		return throw_msg(env, "setGlobal(%s): object already loaded", name);
	btf = bpf_object__btf(o->obj);
	if (!btf)
		return throw_errno(env, "bpf_object__btf", ENOENT);
	bpf_object__for_each_map(m, o->obj) {
		const struct btf_type *sec;
		const struct btf_var_secinfo *vsi;
		__u32 tid;
		int i;

		if (!bpf_map__is_internal(m))
			continue;
		tid = bpf_map__btf_value_type_id(m);
		sec = tid ? btf__type_by_id(btf, tid) : NULL;
		if (!sec || !btf_is_datasec(sec))
			continue;
		vsi = btf_var_secinfos(sec);
		for (i = 0; i < btf_vlen(sec); i++, vsi++) {
			const struct btf_type *var = btf__type_by_id(btf, vsi->type);
			const char *vname = btf__name_by_offset(btf, var->name_off);
			size_t size;
			uint8_t *mem;

			if (!vname || strcmp(vname, name))
				continue;
			if (vsi->size != len)
				return throw_msg(env, "setGlobal(%s): size %zu, expected %u", name, len, vsi->size);
			mem = (uint8_t *)bpf_map__initial_value(m, &size);
			if (!mem || vsi->offset + vsi->size > size)
				return throw_errno(env, "bpf_map__initial_value", EINVAL);
			memcpy(mem + vsi->offset, data, len);
			return NULL;
		}
	}
	return throw_errno(env, name, ENOENT);
}

/* setMap(name, {type, keySize, valueSize, maxEntries}) before load */
static napi_value js_object_set_map(napi_env env, napi_callback_info info)
{
	size_t argc = 2;
	napi_value argv[2];
	struct object *o = obj_of(env, info, &argc, argv);
	struct bpf_map *m;
	int64_t v;
	int err = 0;

	if (!o)
		return NULL;
	if (argc < 2)
		return throw_msg(env, "setMap(name, {type, keySize, valueSize, maxEntries})");
	m = find_map(env, o, argv[0]);
	if (!m)
		return NULL;
	if ((v = prop_i64(env, argv[1], "type", -1)) >= 0 && !err)
		err = bpf_map__set_type(m, (enum bpf_map_type)v);
	if ((v = prop_i64(env, argv[1], "keySize", -1)) >= 0 && !err)
		err = bpf_map__set_key_size(m, (__u32)v);
	if ((v = prop_i64(env, argv[1], "valueSize", -1)) >= 0 && !err)
		err = bpf_map__set_value_size(m, (__u32)v);
	if ((v = prop_i64(env, argv[1], "maxEntries", -1)) >= 0 && !err)
		err = bpf_map__set_max_entries(m, (__u32)v);
	if (err)
		return throw_errno(env, "setMap", err);
	return NULL;
}

static napi_value js_object_set_autoload(napi_env env, napi_callback_info info)
{
	size_t argc = 2;
	napi_value argv[2];
	struct object *o = obj_of(env, info, &argc, argv);
	struct bpf_program *p;
	bool on;
	int err;

	if (!o)
		return NULL;
	if (argc < 2)
		return throw_msg(env, "setAutoload(program, bool)");
	p = find_prog(env, o, argv[0]);
	if (!p)
		return NULL;
	CHECK(napi_get_value_bool(env, argv[1], &on));
	err = bpf_program__set_autoload(p, on);
	if (err)
		return throw_errno(env, "bpf_program__set_autoload", err);
	return NULL;
}

static napi_value js_object_load(napi_env env, napi_callback_info info)
{
	struct object *o = obj_of(env, info, NULL, NULL);
	int err;

	if (!o)
		return NULL;
	err = bpf_object__load(o->obj);
	if (err)
		return throw_errno(env, "bpf_object__load", err);
	o->loaded = true;
	return NULL;
}

/* structLayout(name) -> {size, members: [{name, offset, size}]} or null */
static napi_value js_object_struct_layout(napi_env env, napi_callback_info info)
{
	size_t argc = 1;
	napi_value argv[1], r, arr, e;
	struct object *o = obj_of(env, info, &argc, argv);
	char name[256];
	struct btf *btf;
	const struct btf_type *t;
	const struct btf_member *mem;
	int id, i;

	if (!o)
		return NULL;
	if (argc < 1 || !get_string(env, argv[0], name, sizeof(name)))
		return throw_msg(env, "structLayout(name)");
	btf = bpf_object__btf(o->obj);
	id = btf ? btf__find_by_name_kind(btf, name, BTF_KIND_STRUCT) : -ENOENT;
	if (id < 0) {
		napi_get_null(env, &r);
		return r;
	}
	t = btf__type_by_id(btf, id);
	napi_create_object(env, &r);
	napi_set_named_property(env, r, "size", make_u32(env, t->size));
	napi_create_array(env, &arr);
	mem = btf_members(t);
	for (i = 0; i < btf_vlen(t); i++, mem++) {
		napi_create_object(env, &e);
		napi_set_named_property(env, e, "name", make_str(env, btf__name_by_offset(btf, mem->name_off)));
		napi_set_named_property(env, e, "offset", make_u32(env, btf_member_bit_offset(t, i) / 8));
		napi_set_named_property(env, e, "size", make_u32(env, btf__resolve_size(btf, mem->type)));
		napi_set_element(env, arr, i, e);
	}
	napi_set_named_property(env, r, "members", arr);
	return r;
}

/* ------------------------------------------------------------------------ */
/* map operations                                                            */

static int map_fd_checked(napi_env env, struct object *o, struct bpf_map *m)
{
	int fd;

	if (!o->loaded) {
		throw_msg(env, "map %s: object not loaded", bpf_map__name(m));
		return -1;
	}
	fd = bpf_map__fd(m);
	if (fd < 0)
		throw_errno(env, "bpf_map__fd", -fd);
	return fd;
}

/* Common prologue of map operations: (name, ...) on a loaded object. */
static struct object *map_op(napi_env env, napi_callback_info info, size_t *argc, napi_value *argv,
			     size_t need, struct bpf_map **m, int *fd)
{
	struct object *o = obj_of(env, info, argc, argv);

	if (!o)
		return NULL;
	if (*argc < need) {
		throw_msg(env, "expected %zu arguments", need);
		return NULL;
	}
	*m = find_map(env, o, argv[0]);
	if (!*m || (*fd = map_fd_checked(env, o, *m)) < 0)
		return NULL;
	return o;
}

static bool buf_arg(napi_env env, napi_value v, size_t want, void **data, const char *what)
{
	size_t len;

	if (napi_get_buffer_info(env, v, data, &len) != napi_ok) {
		throw_msg(env, "%s must be a Buffer", what);
		return false;
	}
	if (len != want) {
		throw_msg(env, "%s: %zu bytes, expected %zu", what, len, want);
		return false;
	}
	return true;
}

/* mapFd(name) */
static napi_value js_map_fd(napi_env env, napi_callback_info info)
{
	size_t argc = 1;
	napi_value argv[1], r;
	struct bpf_map *m;
	int fd;

	if (!map_op(env, info, &argc, argv, 1, &m, &fd))
		return NULL;
	napi_create_int32(env, fd, &r);
	return r;
}

/* mapLookup(name, key) -> Buffer | null */
static napi_value js_map_lookup(napi_env env, napi_callback_info info)
{
	size_t argc = 2;
	napi_value argv[2], r;
	struct bpf_map *m;
	void *key, *val;
	int fd;

	if (!map_op(env, info, &argc, argv, 2, &m, &fd))
		return NULL;
	if (!buf_arg(env, argv[1], bpf_map__key_size(m), &key, "key"))
		return NULL;
	CHECK(napi_create_buffer(env, value_buf_size(m), &val, &r));
	if (bpf_map_lookup_elem(fd, key, val)) {
		if (errno == ENOENT) {
			napi_get_null(env, &r);
			return r;
		}
		return throw_errno(env, "bpf_map_lookup_elem", errno);
	}
	return r;
}

/* mapUpdate(name, key, value, flags?) */
static napi_value js_map_update(napi_env env, napi_callback_info info)
{
	size_t argc = 4;
	napi_value argv[4];
	struct bpf_map *m;
	void *key, *val;
	int64_t flags = 0;
	int fd;

	if (!map_op(env, info, &argc, argv, 3, &m, &fd))
		return NULL;
	if (!buf_arg(env, argv[1], bpf_map__key_size(m), &key, "key") ||
	    !buf_arg(env, argv[2], value_buf_size(m), &val, "value"))
		return NULL;
	if (argc > 3)
		napi_get_value_int64(env, argv[3], &flags);
	if (bpf_map_update_elem(fd, key, val, flags))
		return throw_errno(env, "bpf_map_update_elem", errno);
	return NULL;
}

/* mapDelete(name, key) -> bool (false when absent) */
static napi_value js_map_delete(napi_env env, napi_callback_info info)
{
	size_t argc = 2;
	napi_value argv[2], r;
	struct bpf_map *m;
	void *key;
	int fd;

	if (!map_op(env, info, &argc, argv, 2, &m, &fd))
		return NULL;
	if (!buf_arg(env, argv[1], bpf_map__key_size(m), &key, "key"))
		return NULL;
	if (bpf_map_delete_elem(fd, key)) {
		if (errno != ENOENT)
			return throw_errno(env, "bpf_map_delete_elem", errno);
		napi_get_boolean(env, false, &r);
		return r;
	}
	napi_get_boolean(env, true, &r);
	return r;
}

/*
 * mapDump(name, {delete?}) -> {keys: Buffer, values: Buffer, count}
 * Batch lookups where the kernel supports them for this map type (5.6+),
 * otherwise key iteration. With delete, entries read are removed (hash maps)
 * or zeroed (arrays).
 */
static napi_value js_map_dump(napi_env env, napi_callback_info info)
{
	size_t argc = 2;
	napi_value argv[2], r, kb, vb;
	struct bpf_map *m;
	size_t ks, vs, cap, count = 0;
	uint8_t *keys = NULL, *vals = NULL;
	bool del = false, is_array;
	enum bpf_map_type type;
	int fd, err = 0;

	if (!map_op(env, info, &argc, argv, 1, &m, &fd))
		return NULL;
	if (argc > 1)
		del = prop_bool(env, argv[1], "delete", false);
	type = bpf_map__type(m);
	is_array = type == BPF_MAP_TYPE_ARRAY || type == BPF_MAP_TYPE_PERCPU_ARRAY;
	ks = bpf_map__key_size(m);
	vs = value_buf_size(m);
	cap = bpf_map__max_entries(m);
	if (!cap)
		cap = 1;
	keys = malloc(cap * ks);
	vals = malloc(cap * vs);
	if (!keys || !vals) {
		err = ENOMEM;
		goto out;
	}

	/* batch path */
	{
		LIBBPF_OPTS(bpf_map_batch_opts, opts);
		/* opaque batch tokens (at least the key size for hash maps) */
		uint8_t in_tok[64], out_tok[64];
		bool first = true;
		int rc;

		if (ks > sizeof(in_tok))
			goto iterate;
		for (;;) {
			__u32 n = cap - count;

			if (!n)
				break;
			if (del && !is_array)
				rc = bpf_map_lookup_and_delete_batch(fd, first ? NULL : in_tok, out_tok,
								     keys + count * ks, vals + count * vs, &n, &opts);
			else
				rc = bpf_map_lookup_batch(fd, first ? NULL : in_tok, out_tok,
							  keys + count * ks, vals + count * vs, &n, &opts);
			if (rc && errno != ENOENT) {
				if (first && (errno == EINVAL || errno == ENOTSUPP || errno == EOPNOTSUPP ||
					      errno == ENOSYS || errno == EPERM))
					goto iterate;
				err = errno;
				goto out;
			}
			count += n;
			if (rc) /* ENOENT: done */
				break;
			memcpy(in_tok, out_tok, sizeof(in_tok));
			first = false;
		}
		goto done;
	}

iterate:
	count = 0;
	{
		uint8_t *prev = NULL;

		while (count < cap) {
			uint8_t *k = keys + count * ks;

			if (bpf_map_get_next_key(fd, prev, k)) {
				if (errno == ENOENT)
					break;
				err = errno;
				goto out;
			}
			if (bpf_map_lookup_elem(fd, k, vals + count * vs)) {
				if (errno == ENOENT) { /* deleted meanwhile */
					prev = NULL;
					continue;
				}
				err = errno;
				goto out;
			}
			if (del && !is_array) {
				/* deleting invalidates iteration from k: restart from the head */
				bpf_map_delete_elem(fd, k);
				prev = NULL;
			} else {
				prev = k;
			}
			count++;
		}
	}

done:
	if (del && is_array) {
		uint8_t *zero = calloc(1, vs);
		size_t i;

		if (!zero) {
			err = ENOMEM;
			goto out;
		}
		for (i = 0; i < count; i++)
			bpf_map_update_elem(fd, keys + i * ks, zero, BPF_ANY);
		free(zero);
	}
	CHECK(napi_create_buffer_copy(env, count * ks, keys, NULL, &kb));
	CHECK(napi_create_buffer_copy(env, count * vs, vals, NULL, &vb));
	napi_create_object(env, &r);
	napi_set_named_property(env, r, "keys", kb);
	napi_set_named_property(env, r, "values", vb);
	napi_set_named_property(env, r, "count", make_u32(env, count));
out:
	free(keys);
	free(vals);
	if (err)
		return throw_errno(env, "map dump", err);
	return r;
}

/* ------------------------------------------------------------------------ */
/* attach                                                                    */

static napi_value wrap_link(napi_env env, struct object *o, struct bpf_link *bl, const char *op)
{
	struct link *l;

	if (!bl)
		return throw_errno(env, op, errno);
	l = calloc(1, sizeof(*l));
	if (!l) {
		bpf_link__destroy(bl);
		return throw_errno(env, "calloc", ENOMEM);
	}
	l->h.kind = H_LINK;
	l->h.env = env;
	l->h.parent = &o->h;
	l->link = bl;
	list_add(&o->h.children, &l->h);
	return new_instance(env, link_ctor, &l->h);
}

static struct bpf_program *loaded_prog(napi_env env, struct object *o, napi_value v)
{
	if (!o->loaded) {
		throw_msg(env, "attach: object not loaded");
		return NULL;
	}
	return find_prog(env, o, v);
}

/* attach(program): by its section name */
static napi_value js_attach(napi_env env, napi_callback_info info)
{
	size_t argc = 1;
	napi_value argv[1];
	struct object *o = obj_of(env, info, &argc, argv);
	struct bpf_program *p;

	if (!o || argc < 1 || !(p = loaded_prog(env, o, argv[0])))
		return NULL;
	return wrap_link(env, o, bpf_program__attach(p), "bpf_program__attach");
}

/*
 * run(program, ctx?) -> the program's return value. BPF_PROG_TEST_RUN: runs a
 * loaded program once, now, on this CPU (raw_tp: ctx holds its u64 args),
 * for work a tool asks the kernel to do on demand, such as a map sweep.
 */
static napi_value js_run(napi_env env, napi_callback_info info)
{
	size_t argc = 2;
	napi_value argv[2];
	struct object *o = obj_of(env, info, &argc, argv);
	struct bpf_program *p;
	void *ctx = NULL;
	size_t ctx_len = 0;
	bool is_buf = false;
	LIBBPF_OPTS(bpf_test_run_opts, opts);

	if (!o || argc < 1 || !(p = loaded_prog(env, o, argv[0])))
		return NULL;
	if (argc > 1 && napi_is_buffer(env, argv[1], &is_buf) == napi_ok && is_buf)
		CHECK(napi_get_buffer_info(env, argv[1], &ctx, &ctx_len));
	opts.ctx_in = ctx;
	opts.ctx_size_in = ctx_len;
	if (bpf_prog_test_run_opts(bpf_program__fd(p), &opts))
		return throw_errno(env, "bpf_prog_test_run", errno);
	return make_u32(env, opts.retval);
}

/* attachTracepoint(program, category, name) */
static napi_value js_attach_tracepoint(napi_env env, napi_callback_info info)
{
	size_t argc = 3;
	napi_value argv[3];
	struct object *o = obj_of(env, info, &argc, argv);
	struct bpf_program *p;
	char cat[128], name[128];

	if (!o || argc < 3 || !(p = loaded_prog(env, o, argv[0])))
		return NULL;
	if (!get_string(env, argv[1], cat, sizeof(cat)) || !get_string(env, argv[2], name, sizeof(name)))
		return throw_msg(env, "attachTracepoint(program, category, name)");
	return wrap_link(env, o, bpf_program__attach_tracepoint(p, cat, name),
			 "bpf_program__attach_tracepoint");
}

/* attachRawTracepoint(program, name) */
static napi_value js_attach_raw_tracepoint(napi_env env, napi_callback_info info)
{
	size_t argc = 2;
	napi_value argv[2];
	struct object *o = obj_of(env, info, &argc, argv);
	struct bpf_program *p;
	char name[128];

	if (!o || argc < 2 || !(p = loaded_prog(env, o, argv[0])))
		return NULL;
	if (!get_string(env, argv[1], name, sizeof(name)))
		return throw_msg(env, "attachRawTracepoint(program, name)");
	return wrap_link(env, o, bpf_program__attach_raw_tracepoint(p, name),
			 "bpf_program__attach_raw_tracepoint");
}

/* attachUprobe(program, {path, pid=-1, offset=0, func?, retprobe=false}) */
static napi_value js_attach_uprobe(napi_env env, napi_callback_info info)
{
	size_t argc = 2;
	napi_value argv[2];
	struct object *o = obj_of(env, info, &argc, argv);
	struct bpf_program *p;
	char path[4096], func[512];
	LIBBPF_OPTS(bpf_uprobe_opts, opts);

	if (!o || argc < 2 || !(p = loaded_prog(env, o, argv[0])))
		return NULL;
	if (!prop_str(env, argv[1], "path", path, sizeof(path)) || !path[0])
		return throw_msg(env, "attachUprobe: path is required");
	opts.retprobe = prop_bool(env, argv[1], "retprobe", false);
	if (prop_str(env, argv[1], "func", func, sizeof(func)) && func[0])
		opts.func_name = func;
	return wrap_link(env, o,
			 bpf_program__attach_uprobe_opts(p, (pid_t)prop_i64(env, argv[1], "pid", -1), path,
							 (size_t)prop_i64(env, argv[1], "offset", 0), &opts),
			 "bpf_program__attach_uprobe");
}

/* attachUsdt(program, {path, pid=-1, provider, name, cookie=0}) */
static napi_value js_attach_usdt(napi_env env, napi_callback_info info)
{
	size_t argc = 2;
	napi_value argv[2];
	struct object *o = obj_of(env, info, &argc, argv);
	struct bpf_program *p;
	char path[4096], prov[256], name[256];
	LIBBPF_OPTS(bpf_usdt_opts, opts);

	if (!o || argc < 2 || !(p = loaded_prog(env, o, argv[0])))
		return NULL;
	if (!prop_str(env, argv[1], "path", path, sizeof(path)) ||
	    !prop_str(env, argv[1], "provider", prov, sizeof(prov)) ||
	    !prop_str(env, argv[1], "name", name, sizeof(name)))
		return throw_msg(env, "attachUsdt: path, provider and name are required");
	opts.usdt_cookie = (__u64)prop_i64(env, argv[1], "cookie", 0);
	return wrap_link(env, o,
			 bpf_program__attach_usdt(p, (pid_t)prop_i64(env, argv[1], "pid", -1), path, prov,
						  name, &opts),
			 "bpf_program__attach_usdt");
}

/*
 * attachPerfEvent(program, {type, config, cpu=-1, pid=-1, freq?, period?})
 * Opens the perf event and hands it to the link, which closes it on detach.
 */
static napi_value js_attach_perf_event(napi_env env, napi_callback_info info)
{
	size_t argc = 2;
	napi_value argv[2];
	struct object *o = obj_of(env, info, &argc, argv);
	struct bpf_program *p;
	struct perf_event_attr attr;
	struct bpf_link *bl;
	int64_t freq, period;
	int pfd, cpu, pid;

	if (!o || argc < 2 || !(p = loaded_prog(env, o, argv[0])))
		return NULL;
	memset(&attr, 0, sizeof(attr));
	attr.size = sizeof(attr);
	attr.type = (__u32)prop_i64(env, argv[1], "type", PERF_TYPE_SOFTWARE);
	attr.config = (__u64)prop_i64(env, argv[1], "config", PERF_COUNT_SW_CPU_CLOCK);
	freq = prop_i64(env, argv[1], "freq", 0);
	period = prop_i64(env, argv[1], "period", 0);
	if (freq > 0) {
		attr.freq = 1;
		attr.sample_freq = freq;
	} else {
		attr.sample_period = period > 0 ? period : 1;
	}
	cpu = (int)prop_i64(env, argv[1], "cpu", -1);
	pid = (int)prop_i64(env, argv[1], "pid", -1);
	pfd = syscall(__NR_perf_event_open, &attr, pid, cpu, -1, PERF_FLAG_FD_CLOEXEC);
	if (pfd < 0)
		return throw_errno(env, "perf_event_open", errno);
	bl = bpf_program__attach_perf_event(p, pfd);
	if (!bl) {
		int e = errno;

		close(pfd);
		return throw_errno(env, "bpf_program__attach_perf_event", e);
	}
	return wrap_link(env, o, bl, "bpf_program__attach_perf_event");
}

/* ------------------------------------------------------------------------ */
/* ring buffer and perf buffer readers                                       */

/* Records in a batch: u32 length, the bytes, padding to 8. For perf buffers
 * the u32 after the length is the CPU (ring buffers: 0xffffffff). */
static int batch_append(struct reader *r, const void *data, size_t size, uint32_t cpu)
{
	size_t need = 8 + ((size + 7) & ~(size_t)7);
	uint32_t hdr[2] = { (uint32_t)size, cpu };

	if (r->batch_len + need > r->batch_cap) {
		size_t cap = r->batch_cap ? r->batch_cap : 65536;
		uint8_t *p;

		while (cap < r->batch_len + need)
			cap *= 2;
		p = realloc(r->batch, cap);
		if (!p) {
			r->error = ENOMEM;
			return -ENOMEM;
		}
		r->batch = p;
		r->batch_cap = cap;
	}
	memcpy(r->batch + r->batch_len, hdr, 8);
	memcpy(r->batch + r->batch_len + 8, data, size);
	if (need - 8 > size)
		memset(r->batch + r->batch_len + 8 + size, 0, need - 8 - size);
	r->batch_len += need;
	return 0;
}

static int rb_sample(void *ctx, void *data, size_t size)
{
	return batch_append(ctx, data, size, 0xffffffffu);
}

static void pb_sample(void *ctx, int cpu, void *data, __u32 size)
{
	batch_append(ctx, data, size, (uint32_t)cpu);
}

static void pb_lost(void *ctx, int cpu, __u64 cnt)
{
	struct reader *r = ctx;

	(void)cpu;
	r->lost += cnt;
	r->lost_total += cnt;
}

/* Drain everything pending and hand JS one buffer. Returns records consumed or -errno. */
static int reader_consume(struct reader *r)
{
	napi_env env = r->h.env;
	napi_handle_scope scope;
	napi_value cb, buf, args[2], global, res;
	int n;

	if (r->h.closed || r->in_consume)
		return 0;
	r->in_consume = true;
	r->batch_len = 0;
	if (r->rb) {
		n = ring_buffer__consume(r->rb);
	} else {
		/* A perf event fd's readiness is consumed when polled (nested epoll
		 * included): poll the inner epoll set once so it re-arms, then read
		 * every CPU's buffer. */
		n = perf_buffer__poll(r->pb, 0);
		if (n >= 0)
			n = perf_buffer__consume(r->pb);
	}
	r->in_consume = false;
	if (n < 0 && n != -EINTR)
		r->error = -n;
	if (!r->batch_len && !r->lost)
		return n;

	napi_open_handle_scope(env, &scope);
	napi_get_reference_value(env, r->cb, &cb);
	napi_create_buffer_copy(env, r->batch_len, r->batch, NULL, &buf);
	args[0] = buf;
	napi_create_int64(env, (int64_t)r->lost, &args[1]);
	r->lost = 0;
	r->batch_len = 0;
	napi_get_global(env, &global);
	if (napi_make_callback(env, r->actx, global, cb, 2, args, &res) != napi_ok) {
		napi_value exc;

		if (napi_get_and_clear_last_exception(env, &exc) == napi_ok)
			napi_fatal_exception(env, exc);
	}
	napi_close_handle_scope(env, scope);
	return n;
}

static void on_poll(uv_poll_t *h, int status, int events)
{
	(void)status;
	(void)events;
	reader_consume(h->data);
}

static void on_timer(uv_timer_t *h)
{
	reader_consume(h->data);
}

/*
 * new reader: ringBuffer(mapName, callback, {drainMs}) / perfBuffer(mapName,
 * callback, {pages, drainMs}). callback(batch: Buffer, lost: number).
 */
static napi_value make_reader(napi_env env, napi_callback_info info, bool perf)
{
	size_t argc = 3;
	napi_value argv[3], res_name;
	struct object *o;
	struct bpf_map *m;
	struct reader *r;
	napi_valuetype t;
	uv_loop_t *loop;
	int fd, efd, err;
	int64_t drain_ms = 0, pages = 64;

	if (!(o = map_op(env, info, &argc, argv, 2, &m, &fd)))
		return NULL;
	napi_typeof(env, argv[1], &t);
	if (t != napi_function)
		return throw_msg(env, "reader: callback must be a function");
	if (argc > 2) {
		drain_ms = prop_i64(env, argv[2], "drainMs", 0);
		pages = prop_i64(env, argv[2], "pages", 64);
	}
	CHECK(napi_get_uv_event_loop(env, &loop));
	r = calloc(1, sizeof(*r));
	if (!r)
		return throw_errno(env, "calloc", ENOMEM);
	r->h.kind = perf ? H_PERFBUF : H_RINGBUF;
	r->h.env = env;
	if (perf) {
		r->pb = perf_buffer__new(fd, (size_t)pages, pb_sample, pb_lost, r, NULL);
		err = r->pb ? 0 : errno;
		efd = r->pb ? perf_buffer__epoll_fd(r->pb) : -1;
	} else {
		r->rb = ring_buffer__new(fd, rb_sample, r, NULL);
		err = r->rb ? 0 : errno;
		efd = r->rb ? ring_buffer__epoll_fd(r->rb) : -1;
	}
	if (err) {
		free(r);
		return throw_errno(env, perf ? "perf_buffer__new" : "ring_buffer__new", err);
	}
	napi_create_reference(env, argv[1], 1, &r->cb);
	napi_create_string_utf8(env, perf ? "ebpf:perfbuf" : "ebpf:ringbuf", NAPI_AUTO_LENGTH, &res_name);
	napi_async_init(env, NULL, res_name, &r->actx);
	r->h.parent = &o->h;
	list_add(&o->h.children, &r->h);

	uv_poll_init(loop, &r->poll, efd);
	r->poll.data = r;
	uv_timer_init(loop, &r->timer);
	r->timer.data = r;
	r->uv_open = 2;
	uv_poll_start(&r->poll, UV_READABLE, on_poll);
	if (drain_ms > 0)
		uv_timer_start(&r->timer, on_timer, drain_ms, drain_ms);
	return new_instance(env, perf ? perfbuf_ctor : ringbuf_ctor, &r->h);
}

static napi_value js_ring_buffer(napi_env env, napi_callback_info info)
{
	return make_reader(env, info, false);
}

static napi_value js_perf_buffer(napi_env env, napi_callback_info info)
{
	return make_reader(env, info, true);
}

/* reader.consume(): drain now (e.g. before exit). */
static napi_value js_reader_consume(napi_env env, napi_callback_info info)
{
	struct reader *r = (struct reader *)unwrap(env, info, NULL, NULL, H_RINGBUF, false);
	napi_value v;
	int n;

	if (!r)
		return NULL;
	n = r->h.closed ? 0 : reader_consume(r);
	napi_create_int32(env, n, &v);
	return v;
}

/* reader.stats() -> {lost, error} */
static napi_value js_reader_stats(napi_env env, napi_callback_info info)
{
	struct reader *r = (struct reader *)unwrap(env, info, NULL, NULL, H_RINGBUF, false);
	napi_value o, v;

	if (!r)
		return NULL;
	napi_create_object(env, &o);
	napi_create_int64(env, (int64_t)r->lost_total, &v);
	napi_set_named_property(env, o, "lost", v);
	napi_create_int32(env, r->error, &v);
	napi_set_named_property(env, o, "error", v);
	return o;
}

/* ------------------------------------------------------------------------ */
/* module functions                                                          */

static napi_value js_take_log(napi_env env, napi_callback_info info)
{
	napi_value v;

	(void)info;
	napi_create_string_utf8(env, log_buf ? log_buf : "", log_len, &v);
	log_len = 0;
	if (log_buf)
		log_buf[0] = 0;
	return v;
}

static napi_value js_set_log_level(napi_env env, napi_callback_info info)
{
	size_t argc = 1;
	napi_value argv[1];
	int32_t lvl;

	CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
	if (argc > 0 && napi_get_value_int32(env, argv[0], &lvl) == napi_ok)
		log_level = lvl;
	return NULL;
}

/* CLOCK_REALTIME - CLOCK_MONOTONIC in ns, from the tightest of a few brackets. */
static napi_value js_clock_offset(napi_env env, napi_callback_info info)
{
	struct timespec a, rt, b;
	int64_t best_gap = INT64_MAX, off = 0;
	napi_value v;
	int i;

	(void)info;
	for (i = 0; i < 5; i++) {
		int64_t ma, mb, r, gap;

		clock_gettime(CLOCK_MONOTONIC, &a);
		clock_gettime(CLOCK_REALTIME, &rt);
		clock_gettime(CLOCK_MONOTONIC, &b);
		ma = a.tv_sec * 1000000000LL + a.tv_nsec;
		mb = b.tv_sec * 1000000000LL + b.tv_nsec;
		r = rt.tv_sec * 1000000000LL + rt.tv_nsec;
		gap = mb - ma;
		if (gap < best_gap) {
			best_gap = gap;
			off = r - (ma + gap / 2);
		}
	}
	napi_create_bigint_int64(env, off, &v);
	return v;
}

static napi_value js_monotonic_ns(napi_env env, napi_callback_info info)
{
	struct timespec ts;
	napi_value v;

	(void)info;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	napi_create_bigint_int64(env, ts.tv_sec * 1000000000LL + ts.tv_nsec, &v);
	return v;
}

static napi_value js_num_possible_cpus(napi_env env, napi_callback_info info)
{
	napi_value v;
	int n = libbpf_num_possible_cpus();

	(void)info;
	if (n < 0)
		return throw_errno(env, "libbpf_num_possible_cpus", n);
	napi_create_int32(env, n, &v);
	return v;
}

/* probeMapType(type) -> bool: can this kernel create such a map? */
static napi_value js_probe_map_type(napi_env env, napi_callback_info info)
{
	size_t argc = 1;
	napi_value argv[1], v;
	int32_t t;

	CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
	if (argc < 1 || napi_get_value_int32(env, argv[0], &t) != napi_ok)
		return throw_msg(env, "probeMapType(type)");
	napi_get_boolean(env, libbpf_probe_bpf_map_type((enum bpf_map_type)t, NULL) == 1, &v);
	return v;
}

static napi_value define_class(napi_env env, napi_value exports, const char *name,
			       napi_callback ctor, const napi_property_descriptor *props,
			       size_t n, napi_ref *ref)
{
	napi_value cls;

	CHECK(napi_define_class(env, name, NAPI_AUTO_LENGTH, ctor, NULL, n, props, &cls));
	if (ref)
		CHECK(napi_create_reference(env, cls, 1, ref));
	CHECK(napi_set_named_property(env, exports, name, cls));
	return cls;
}

#define METHOD(name, fn) { name, NULL, fn, NULL, NULL, NULL, napi_default_method, NULL }

static napi_value init(napi_env env, napi_value exports)
{
	static const napi_property_descriptor obj_props[] = {
		METHOD("close", js_close),
		METHOD("isClosed", js_closed),
		METHOD("maps", js_object_maps),
		METHOD("programs", js_object_programs),
		METHOD("setGlobal", js_object_set_global),
		METHOD("setMap", js_object_set_map),
		METHOD("setAutoload", js_object_set_autoload),
		METHOD("load", js_object_load),
		METHOD("structLayout", js_object_struct_layout),
		METHOD("mapFd", js_map_fd),
		METHOD("mapLookup", js_map_lookup),
		METHOD("mapUpdate", js_map_update),
		METHOD("mapDelete", js_map_delete),
		METHOD("mapDump", js_map_dump),
		METHOD("attach", js_attach),
		METHOD("attachTracepoint", js_attach_tracepoint),
		METHOD("attachRawTracepoint", js_attach_raw_tracepoint),
		METHOD("attachUprobe", js_attach_uprobe),
		METHOD("attachUsdt", js_attach_usdt),
		METHOD("attachPerfEvent", js_attach_perf_event),
		METHOD("run", js_run),
		METHOD("ringBuffer", js_ring_buffer),
		METHOD("perfBuffer", js_perf_buffer),
	};
	static const napi_property_descriptor link_props[] = {
		METHOD("close", js_close),
		METHOD("isClosed", js_closed),
	};
	static const napi_property_descriptor reader_props[] = {
		METHOD("close", js_close),
		METHOD("isClosed", js_closed),
		METHOD("consume", js_reader_consume),
		METHOD("stats", js_reader_stats),
	};
	static const napi_property_descriptor fns[] = {
		METHOD("takeLog", js_take_log),
		METHOD("setLogLevel", js_set_log_level),
		METHOD("clockOffsetNs", js_clock_offset),
		METHOD("monotonicNs", js_monotonic_ns),
		METHOD("numPossibleCpus", js_num_possible_cpus),
		METHOD("probeMapType", js_probe_map_type),
	};
	napi_value v;

	libbpf_set_print(print_fn);
	if (!define_class(env, exports, "BpfObject", js_object_new, obj_props,
			  sizeof(obj_props) / sizeof(obj_props[0]), NULL) ||
	    !define_class(env, exports, "Link", js_internal_ctor, link_props,
			  sizeof(link_props) / sizeof(link_props[0]), &link_ctor) ||
	    !define_class(env, exports, "RingBuffer", js_internal_ctor, reader_props,
			  sizeof(reader_props) / sizeof(reader_props[0]), &ringbuf_ctor) ||
	    !define_class(env, exports, "PerfBuffer", js_internal_ctor, reader_props,
			  sizeof(reader_props) / sizeof(reader_props[0]), &perfbuf_ctor))
		return NULL;
	CHECK(napi_define_properties(env, exports, sizeof(fns) / sizeof(fns[0]), fns));
	napi_create_string_utf8(env, libbpf_version_string(), NAPI_AUTO_LENGTH, &v);
	napi_set_named_property(env, exports, "libbpfVersion", v);
	napi_add_env_cleanup_hook(env, env_cleanup, NULL);
	return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
