#include "ringnet/codec/websocket/test_inputs.h"

namespace ringnet::codec::websocket::testing {

std::vector<HttpSample> SampleUpgradeRequests() { return {}; }

std::vector<HttpSample> SampleUpgradeResponses() { return {}; }

}  // namespace ringnet::codec::websocket::testing
