import { runService } from '@subpack/runtime';
import { SERVE_SERVICE } from '@subpack/serve';

/** Serves channel APKs on the fly: GET/HEAD /apk/<app>/<channel>.apk, admin on /admin/apps (see README). */
void runService(SERVE_SERVICE);
