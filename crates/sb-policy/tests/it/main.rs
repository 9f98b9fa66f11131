//! Integration tests of `sb-policy` through its public API only, in the order the service
//! calls it: prepare the workflow's action, decide, pick the SLA policy, run the SLA clocks.

mod service_flow;
