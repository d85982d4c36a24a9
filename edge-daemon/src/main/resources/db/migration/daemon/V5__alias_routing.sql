-- An alias may send a share of its invocations to one more version (Lambda's RoutingConfig.AdditionalVersionWeights).
ALTER TABLE aliases ADD COLUMN extra_version INTEGER;
ALTER TABLE aliases ADD COLUMN extra_weight  REAL;
