import type { AuditLog } from './audit';
import type { ChannelLists } from './channel-lists';
import type { Destinations } from './destinations';
import type { LiveFeed } from './live';
import type { TaskService, TaskView } from './tasks';

export interface ParkedView {
  id: string;
  reason: string;
  attempt: number;
  originQueue: string | null;
  routingKey: string | null;
  parkedAt: string | null;
  body: string;
}

export interface CancelOutcome {
  taskId: string;
  status: string;
  cancelled: boolean;
  done: number;
  failed: number;
  total: number;
}

/** What the routes call: one object per capability, built once at start (see api.module.ts). */
export interface ApiServices {
  tasks: TaskService;
  lists: ChannelLists;
  destinations: Destinations;
  live: LiveFeed<TaskView>;
  audit: AuditLog;
  parked: {
    list(limit: number): Promise<ParkedView[]>;
    replay(selection: { ids: string[] } | { all: true }): Promise<{ replayed: string[]; skipped: { id: string; reason: string }[]; missing: string[] }>;
  };
  cancel(taskId: string, by: string): Promise<CancelOutcome>;
  retry(taskId: string): Promise<{ started: boolean; attempt?: number; reason?: string }>;
  systemOverview(): Promise<{
    broker: { state: string; node: string | null };
    redis: { state: string };
    queues: { queue: string; messages: number | null; consumers: number | null; error?: string }[];
    services: { service: string; queue: string; consumers: number | null; ready: boolean }[];
    stalledTasks: { taskId: string; stalledAt: string }[];
    throughput: { minute: string; stored: number }[];
  }>;
}
