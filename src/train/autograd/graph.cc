#include "train/autograd/graph.h"

#include "core/error.h"

namespace whale::ag {

Var Graph::param(Param& p) {
  Node n;
  n.shape = p.shape;
  n.ext_value = p.value.data();
  n.param = &p;
  n.requires_grad = p.trained;
  nodes_.push_back(std::move(n));
  return Var{int32_t(nodes_.size() - 1)};
}

Var Graph::constant(Shape shape, std::vector<float> value) {
  WHALE_CHECK(int64_t(value.size()) == shape_numel(shape));
  Node n;
  n.shape = std::move(shape);
  n.value = std::move(value);
  nodes_.push_back(std::move(n));
  return Var{int32_t(nodes_.size() - 1)};
}

Var Graph::make(Shape shape, bool requires_grad) {
  Node n;
  n.value.assign(size_t(shape_numel(shape)), 0.0f);
  n.shape = std::move(shape);
  n.requires_grad = requires_grad;
  nodes_.push_back(std::move(n));
  return Var{int32_t(nodes_.size() - 1)};
}

void Graph::on_backward(Var v, std::function<void()> fn) { nodes_[size_t(v.id)].backward = std::move(fn); }

int64_t Graph::dim(Var v, int64_t i) const {
  const Shape& s = shape(v);
  if (i < 0) i += int64_t(s.size());
  WHALE_CHECK(i >= 0 && i < int64_t(s.size()));
  return s[size_t(i)];
}

float* Graph::value(Var v) {
  Node& n = nodes_[size_t(v.id)];
  return n.ext_value ? n.ext_value : n.value.data();
}

const float* Graph::value(Var v) const {
  const Node& n = nodes_[size_t(v.id)];
  return n.ext_value ? n.ext_value : n.value.data();
}

float* Graph::grad(Var v) {
  Node& n = nodes_[size_t(v.id)];
  WHALE_CHECK(n.requires_grad);
  std::vector<float>& g = n.param ? n.param->grad : n.grad;
  size_t size = size_t(shape_numel(n.shape));
  if (g.size() != size) g.assign(size, 0.0f);
  return g.data();
}

float Graph::item(Var v) const {
  if (numel(v) != 1) fail("autograd: item() of a tensor of shape {}", shape_str(shape(v)));
  return value(v)[0];
}

void Graph::backward(Var loss) {
  if (numel(loss) != 1) fail("autograd: backward() needs a one-element loss, got shape {}", shape_str(shape(loss)));
  if (!requires_grad(loss)) fail("autograd: the loss does not depend on any trained parameter");
  grad(loss)[0] = 1.0f;
  for (size_t i = nodes_.size(); i-- > 0;) {
    Node& n = nodes_[i];
    // Skip nodes no gradient reached (e.g. a branch that does not feed the loss).
    if (n.backward && n.requires_grad && !n.grad.empty()) n.backward();
  }
}

}  // namespace whale::ag
