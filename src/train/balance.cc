#include "train/balance.h"

#include <algorithm>

#include "core/error.h"

namespace whale {

void accumulate_expert_load(std::vector<TrainForward::ExpertLoad>& total,
                            const std::vector<TrainForward::ExpertLoad>& step) {
  if (total.empty()) {
    total = step;
    return;
  }
  WHALE_CHECK(total.size() == step.size());
  for (size_t l = 0; l < step.size(); ++l)
    for (size_t e = 0; e < step[l].count.size(); ++e) total[l].count[e] += step[l].count[e];
}

std::vector<LayerBalance> update_routing_bias(ParamSet& params, const std::vector<TrainForward::ExpertLoad>& load,
                                              double gamma) {
  std::vector<LayerBalance> out;
  for (const TrainForward::ExpertLoad& layer : load) {
    const std::vector<int64_t>& c = layer.count;
    int64_t total = 0;
    for (int64_t n : c) total += n;
    const double mean = double(total) / double(c.size());
    LayerBalance b{layer.router, mean > 0 ? double(*std::max_element(c.begin(), c.end())) / mean : 1.0};
    out.push_back(b);
    Param* bias = params.find(layer.router + ".e_score_correction_bias");
    if (!bias || gamma == 0.0 || total == 0) continue;
    for (size_t e = 0; e < c.size(); ++e) {
      const double error = mean - double(c[e]);  // > 0: underloaded → raise its bias
      if (error != 0.0) bias->value[e] += float(error > 0 ? gamma : -gamma);
    }
  }
  return out;
}

}  // namespace whale
