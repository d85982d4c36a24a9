-- Bundles from any HTTP origin: where devices fetch a version's bundle (a CDN, an S3-compatible bucket) instead of
-- the deployer. Digest and signature are checked on the device, so the origin is not trusted; null: the deployer.
ALTER TABLE versions ADD COLUMN url VARCHAR(2048);
