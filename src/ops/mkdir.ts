import type { MkdirOp } from '../graph/index.js';
import { sha256 } from '../oci/index.js';
import { resolveUser } from '../runtime/index.js';
import { mkdirAllInRoot } from '../util/index.js';
import { withWritableLayer } from './layers.js';
import type { OpHandler } from './types.js';

/** WORKDIR: creates the directory (owned by the current USER) when it does not exist. */
export const mkdirHandler: OpHandler<MkdirOp> = {
  async cacheKey(op, input) {
    return sha256(JSON.stringify(['mkdir/v1', input.parentKey, op]));
  },
  exec(op, input, ctx) {
    return withWritableLayer(ctx, input.layers, async (rootfs) => {
      const owner = op.user === '' ? { uid: 0, gid: 0 } : resolveUser(rootfs, op.user);
      mkdirAllInRoot(rootfs, op.path, { uid: owner.uid, gid: owner.gid });
    }, { keepEmpty: false });
  },
};
