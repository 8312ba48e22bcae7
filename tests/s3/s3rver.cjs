// Starts @20minutes/s3rver (pinned in package-lock.json) for the integration
// tests: the one S3 server on Node 20 that checks Signature V4.
//   node s3rver.cjs -d DIR -a 127.0.0.1 -p 0 --configure-bucket NAME ...
// The key pair comes from S3RVER_ACCESS_KEY_ID / S3RVER_SECRET_ACCESS_KEY (never
// argv); the built-in S3RVER/S3RVER pair is revoked. Prints
// "S3rver listening on ADDRESS:PORT" when it accepts requests, and exits when
// its stdin closes (the test process that started it has gone).
//
// s3rver 4.0.4 lacks ListMultipartUploads (GET /BUCKET?uploads) and
// AbortMultipartUpload (DELETE /BUCKET/KEY?uploadId=ID); both are added here,
// after its signature check, over its own on-disk layout
// (BUCKET/._S3rver_uploads/ID/{key,metadata,PART...}).
'use strict';

const fs = require('fs/promises');
const path = require('path');
const account = require('@20minutes/s3rver/lib/models/account');
const S3Error = require('@20minutes/s3rver/lib/models/error');
const router = require('@20minutes/s3rver/lib/routes');
const cli = require('@20minutes/s3rver/lib/cli');

const id = process.env.S3RVER_ACCESS_KEY_ID;
const secret = process.env.S3RVER_SECRET_ACCESS_KEY;
if (!id || !secret) {
  console.error('s3rver.cjs: set S3RVER_ACCESS_KEY_ID and S3RVER_SECRET_ACCESS_KEY');
  process.exit(2);
}
account.DUMMY_ACCOUNT.revokeAccessKey('S3RVER');
account.DUMMY_ACCOUNT.createKeyPair(id, secret);

const uploadsDir = (ctx) => path.join(ctx.store.rootDirectory, ctx.params.bucket, '._S3rver_uploads');

async function listUploads(ctx, next) {
  if (!('uploads' in ctx.query)) return next();
  if (!(await ctx.store.getBucket(ctx.params.bucket)))
    throw new S3Error('NoSuchBucket', 'The specified bucket does not exist', {
      BucketName: ctx.params.bucket,
    });
  const prefix = ctx.query.prefix || '';
  const uploads = [];
  const ids = await fs.readdir(uploadsDir(ctx)).catch(() => []);
  for (const uploadId of ids.sort()) {
    const dir = path.join(uploadsDir(ctx), uploadId);
    const key = await fs.readFile(path.join(dir, 'key'), 'utf8').catch(() => null);
    if (key === null || !key.startsWith(prefix)) continue;
    const { mtime } = await fs.stat(dir);
    uploads.push({ Key: key, UploadId: uploadId, Initiated: mtime.toISOString() });
  }
  uploads.sort((a, b) => (a.Key < b.Key ? -1 : a.Key > b.Key ? 1 : 0));
  ctx.body = {
    ListMultipartUploadsResult: {
      Bucket: ctx.params.bucket,
      Prefix: prefix,
      IsTruncated: false,
      Upload: uploads,
    },
  };
}

async function abortUpload(ctx, next) {
  if (!('uploadId' in ctx.query)) return next();
  const dir = path.join(uploadsDir(ctx), path.basename(ctx.query.uploadId));
  const key = await fs.readFile(path.join(dir, 'key'), 'utf8').catch(() => null);
  if (key === null || key !== ctx.params.key)
    throw new S3Error(
      'NoSuchUpload',
      'The specified upload does not exist. The upload ID may be invalid, or the upload may have been aborted or completed.',
      { UploadId: ctx.query.uploadId },
    );
  await fs.rm(dir, { recursive: true, force: true });
  ctx.status = 204;
}

// New routes go right after the authentication middleware, before s3rver's own
// handlers (which answer NotImplemented / MethodNotAllowed for these).
const before = router.stack.length;
router.get('/:bucket', listUploads);
router.delete('/:bucket/:key+', abortUpload);
const added = router.stack.splice(before);
const auth = router.stack.findIndex((layer) => layer.path === '/:bucket?/:key*');
if (auth < 0) {
  console.error('s3rver.cjs: the s3rver router changed; update the extension');
  process.exit(2);
}
router.stack.splice(auth + 1, 0, ...added);

process.stdin.on('end', () => process.exit(0));
process.stdin.on('error', () => process.exit(0));
process.stdin.resume();

cli.parseAsync(process.argv).catch((err) => {
  console.error(err);
  process.exit(1);
});
