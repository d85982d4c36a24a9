-- Every device request finds its device by token hash: without an index that is a scan of every device, so the
-- deployer's work per request grew with the fleet (10,000 devices: 10,000 rows read to authenticate each request).
-- Tokens are 32 random bytes, so their hashes are unique.
CREATE UNIQUE INDEX devices_token ON devices (token_hash);
