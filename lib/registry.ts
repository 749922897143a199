// The tool registry: one line per tool. Modules load lazily, so start-up
// only pays for the tool that runs.
import type { ToolSpec } from './tool.js';

export interface ToolEntry {
	summary: string;
	load: () => Promise<{ default: ToolSpec<any> }>;
}

export const TOOLS: Record<string, ToolEntry> = {
	execsnoop: { summary: 'Trace new processes (exec), with arguments', load: () => import('../tools/execsnoop.js') },
	biolatency: { summary: 'Summarize block device I/O latency as a histogram', load: () => import('../tools/biolatency.js') },
};
