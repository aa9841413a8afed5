import { apiService } from '@subpack/api';
import { runService } from '@subpack/runtime';

/** The HTTP API under /api/v1 (see README): masters, channel lists, destinations, tasks, live progress, accounts. */
void runService(apiService());
