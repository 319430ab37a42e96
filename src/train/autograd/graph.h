// A tape of f32 tensors for reverse-mode differentiation. Ops (autograd/ops.h) append nodes in execution
// order, each with a closure that maps its output gradient to its inputs' gradients; backward() runs the
// closures in reverse. Parameters are leaves that alias a Param's master weights and gradient buffer.
#pragma once

#include <cstdint>
#include <functional>
#include <vector>

#include "core/thread_pool.h"
#include "tensor/tensor.h"
#include "train/params.h"

namespace whale::ag {

struct Var {
  int32_t id = -1;
  bool defined() const { return id >= 0; }
};

class Graph {
 public:
  explicit Graph(ThreadPool& pool) : pool_(pool) {}
  Graph(const Graph&) = delete;
  Graph& operator=(const Graph&) = delete;

  ThreadPool& pool() { return pool_; }

  // Leaf aliasing p.value; gradients accumulate into p.grad (sized on demand) when p.trained.
  Var param(Param& p);
  // Leaf holding a copy of `value`; no gradient.
  Var constant(Shape shape, std::vector<float> value);
  // New op output of the given shape (zero-filled); it needs a gradient when any input does.
  Var make(Shape shape, bool requires_grad);
  // The closure runs during backward(), after every consumer of `v` has added to grad(v).
  void on_backward(Var v, std::function<void()> fn);

  const Shape& shape(Var v) const { return nodes_[size_t(v.id)].shape; }
  int64_t numel(Var v) const { return shape_numel(shape(v)); }
  int64_t dim(Var v, int64_t i) const;  // negative i counts from the end
  bool requires_grad(Var v) const { return nodes_[size_t(v.id)].requires_grad; }
  float* value(Var v);
  const float* value(Var v) const;
  // Gradient buffer of v (zero-initialised on first use); only valid when requires_grad(v).
  float* grad(Var v);
  float item(Var v) const;  // value of a one-element tensor

  // Seeds d loss / d loss = 1 for a one-element `loss` and runs the tape backwards.
  void backward(Var loss);
  size_t size() const { return nodes_.size(); }

 private:
  struct Node {
    Shape shape;
    std::vector<float> value, grad;
    float* ext_value = nullptr;  // parameters: Param::value
    Param* param = nullptr;      // parameters: gradients go to Param::grad
    bool requires_grad = false;
    std::function<void()> backward;
  };
  std::vector<Node> nodes_;
  ThreadPool& pool_;
};

}  // namespace whale::ag
