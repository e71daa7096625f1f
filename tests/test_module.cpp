// The Module base class: naming and ordering of parameters, state_dict / load_state_dict and their
// errors, train/eval, zero_grad, printing; blocks that take a context (x, t) inside a Sequential; ModuleList.
#include <gtest/gtest.h>

#include <cstdio>

#include "autograd/activation.h"
#include "autograd/elementwise.h"
#include "autograd/reduction.h"
#include "error_of.h"
#include "nn/layers.h"
#include "tensor/safetensors.h"

namespace hd {

using test::error_of;  // tests/error_of.h

// A small model in the way users write them: children registered in the constructor, kept as members.
class TwoLayer : public Module {
 public:
  explicit TwoLayer(Generator& gen = default_generator()) {
    scale = register_parameter("scale", Tensor::ones({2}));
    fc1 = register_module("fc1", std::make_shared<Linear>(4, 3, gen));
    norm = register_module("norm", std::make_shared<BatchNorm1d>(3));
    fc2 = register_module("fc2", std::make_shared<Linear>(3, 2, gen));
  }
  Variable forward(const Variable& x) override { return (*fc2)(relu((*norm)((*fc1)(x)))) * scale; }
  std::string describe() const override { return "TwoLayer()"; }

  Variable scale;
  std::shared_ptr<Linear> fc1;
  std::shared_ptr<BatchNorm1d> norm;
  std::shared_ptr<Linear> fc2;
};

static std::vector<std::string> names_of(const std::vector<std::pair<std::string, Variable>>& named) {
  std::vector<std::string> names;
  for (const auto& [name, p] : named) names.push_back(name);
  return names;
}

TEST(Module, OwnParametersFirstThenChildrenInRegistrationOrderWithDottedNames) {
  TwoLayer model;
  EXPECT_EQ(names_of(model.named_parameters()),
            (std::vector<std::string>{"scale", "fc1.weight", "fc1.bias", "norm.weight", "norm.bias", "fc2.weight",
                                      "fc2.bias"}));
  std::vector<std::string> buffers;
  for (const auto& [name, b] : model.named_buffers()) buffers.push_back(name);
  EXPECT_EQ(buffers, (std::vector<std::string>{"norm.running_mean", "norm.running_var", "norm.num_batches_tracked"}));
  ASSERT_EQ(model.parameters().size(), 7u);
  EXPECT_TRUE(model.parameters()[1].is_same(model.fc1->weight));
  EXPECT_TRUE(model.parameters()[1].requires_grad());
}

TEST(Module, NumParametersCountsEveryElement) {
  TwoLayer model;
  EXPECT_EQ(model.num_parameters(), 2 + (4 * 3 + 3) + (3 + 3) + (3 * 2 + 2));
}

TEST(Module, SharedLayerIsListedOnceButSavedUnderBothNames) {
  class Tied : public Module {
   public:
    Tied() {
      auto shared = std::make_shared<Linear>(3, 3);
      encoder = register_module("encoder", shared);
      decoder = register_module("decoder", shared);  // the same weights used twice (weight tying)
    }
    std::shared_ptr<Linear> encoder, decoder;
  };
  Tied tied;
  // An optimizer must step each Variable once; a checkpoint still names both uses, as PyTorch does.
  EXPECT_EQ(names_of(tied.named_parameters()), (std::vector<std::string>{"encoder.weight", "encoder.bias"}));
  EXPECT_EQ(tied.num_parameters(), 12);
  EXPECT_EQ(tied.state_dict().size(), 4u);
}

TEST(Module, StateDictSharesStorageWithTheParametersAndBuffers) {
  TwoLayer model;
  auto state = model.state_dict();
  EXPECT_EQ(state.size(), 10u);  // 7 parameters + 3 buffers
  EXPECT_TRUE(state.at("fc1.weight").shares_storage(model.fc1->weight.data()));
  EXPECT_TRUE(state.at("norm.running_var").shares_storage(model.norm->running_var));
}

TEST(Module, LoadStateDictCopiesIntoTheLayersOwnTensors) {
  Generator g1(1), g2(2);
  TwoLayer a(g1), b(g2);
  a.norm->running_mean.fill_(0.5f);
  Tensor before = b.fc1->weight.data();
  b.load_state_dict(a.state_dict());
  EXPECT_TRUE(b.fc1->weight.data().shares_storage(before));  // same storage, new values
  EXPECT_EQ(b.fc1->weight.data().tolist(), a.fc1->weight.data().tolist());
  EXPECT_EQ(b.norm->running_mean.tolist(), std::vector<float>(3, 0.5f));
  EXPECT_FALSE(b.fc2->bias.data().shares_storage(a.fc2->bias.data()));
}

TEST(Module, LoadStateDictNamesAMissingKey) {
  TwoLayer model;
  auto state = model.state_dict();
  state.erase("fc1.bias");
  EXPECT_EQ(error_of([&] { model.load_state_dict(state); }), "load_state_dict: missing 'fc1.bias'");
  model.load_state_dict(state, /*strict=*/false);  // allowed when not strict
}

TEST(Module, LoadStateDictNamesAShapeMismatch) {
  TwoLayer model;
  auto state = model.state_dict();
  state["fc1.weight"] = Tensor::zeros({4, 3});
  EXPECT_EQ(error_of([&] { model.load_state_dict(state); }),
            "load_state_dict: 'fc1.weight' has shape [4, 3], the model expects [3, 4]");
  EXPECT_NE(error_of([&] { model.load_state_dict(state, /*strict=*/false); }), "(no exception)");
}

TEST(Module, LoadStateDictRejectsUnexpectedKeysOnlyWhenStrict) {
  TwoLayer model;
  auto state = model.state_dict();
  state["fc3.weight"] = Tensor::zeros({1});
  std::string msg = error_of([&] { model.load_state_dict(state); });
  EXPECT_NE(msg.find("unexpected key 'fc3.weight'"), std::string::npos) << msg;
  model.load_state_dict(state, /*strict=*/false);
}

TEST(Module, FailedLoadLeavesTheModelUnchanged) {
  TwoLayer model;
  std::vector<float> before = model.fc1->weight.data().tolist();
  auto state = model.state_dict();
  for (auto& [name, t] : state) state[name] = Tensor::zeros(t.shape());
  state["fc2.bias"] = Tensor::zeros({5});  // the last entry checked is wrong: nothing may be copied
  EXPECT_NE(error_of([&] { model.load_state_dict(state); }), "(no exception)");
  EXPECT_EQ(model.fc1->weight.data().tolist(), before);
}

TEST(Module, CheckpointRoundTripThroughSafetensors) {
  Generator g1(1), g2(2);
  TwoLayer a(g1), b(g2);
  Tensor x = randn({5, 4}, g1);
  a(x);  // one training-mode step moves the running statistics
  std::string path = testing::TempDir() + "/hundun_module_checkpoint.safetensors";
  save_safetensors(path, {a.state_dict(), {}});
  b.load_state_dict(load_safetensors(path).tensors);
  std::remove(path.c_str());
  a.eval();
  b.eval();
  EXPECT_EQ(a(x).data().tolist(), b(x).data().tolist());
}

TEST(Module, TrainAndEvalReachEveryChild) {
  TwoLayer model;
  EXPECT_TRUE(model.is_training());
  model.eval();
  EXPECT_FALSE(model.is_training());
  EXPECT_FALSE(model.norm->is_training());
  model.train();
  EXPECT_TRUE(model.fc2->is_training());
}

TEST(Module, ChildRegisteredIntoAnEvalModelFollowsItsMode) {
  Sequential seq;
  seq.eval();
  auto bn = seq.add(std::make_shared<BatchNorm1d>(2));
  EXPECT_FALSE(bn->is_training());
}

TEST(Module, ZeroGradForgetsEveryGradient) {
  TwoLayer model;
  sum(model(randn({3, 4}))).backward();
  for (const auto& p : model.parameters()) ASSERT_TRUE(p.grad().defined());
  model.zero_grad();
  for (const auto& p : model.parameters()) EXPECT_FALSE(p.grad().defined());
}

TEST(Module, RegisteringTwoThingsUnderOneNameThrows) {
  class Clash : public Module {
   public:
    void add_twice() {
      register_parameter("w", Tensor::zeros({1}));
      register_buffer("w", Tensor::zeros({1}));
    }
    void add_dotted() { register_parameter("a.b", Tensor::zeros({1})); }
  };
  Clash m;
  EXPECT_NE(error_of([&] { m.add_twice(); }).find("'w' is already used"), std::string::npos);
  EXPECT_NE(error_of([&] { m.add_dotted(); }).find("contains a '.'"), std::string::npos);
}

TEST(Module, ForwardOfAModuleWithoutOneThrows) {
  Module m;
  EXPECT_NE(error_of([&] { m(Tensor::zeros({1})); }).find("does not define forward"), std::string::npos);
}

// A block on two inputs, as a diffusion U-Net's residual block on (x, time embedding): adds a learned
// projection of the context to x.
class AddContext : public Module {
 public:
  explicit AddContext(int64_t context_dim, int64_t dim, Generator& gen) {
    proj = register_module("proj", std::make_shared<Linear>(context_dim, dim, gen));
  }
  Variable forward(const Variable& x, const Variable& context) override { return x + (*proj)(context); }
  bool takes_context() const override { return true; }
  std::string describe() const override { return "AddContext()"; }
  std::shared_ptr<Linear> proj;
};

TEST(Module, SequentialHandsTheContextOnlyToBlocksThatTakeOne) {
  Generator gen(3);
  auto fc = std::make_shared<Linear>(4, 3, gen);
  auto block = std::make_shared<AddContext>(2, 3, gen);
  auto inner = std::make_shared<Sequential>(std::initializer_list<std::shared_ptr<Module>>{block});
  Sequential net{fc, inner, std::make_shared<ReLU>()};
  EXPECT_TRUE(net.takes_context());
  Variable x(randn({5, 4}, gen)), t(randn({5, 2}, gen), true);
  Variable y = net(x, t);
  Variable expected = relu((*fc)(x) + (*block->proj)(t));
  ASSERT_EQ(y.shape(), expected.shape());
  for (int64_t i = 0; i < y.numel(); ++i) EXPECT_EQ(y.data().data()[i], expected.data().data()[i]);
  // The context is an input like any other: the gradient reaches it.
  sum(y).backward();
  ASSERT_TRUE(t.grad().defined());
  EXPECT_GT(sum(abs(t.grad())).data().item(), 0.f);
  EXPECT_EQ(net.named_parameters().size(), 4u);  // fc and the block's projection, nested names
  EXPECT_EQ(net.named_parameters()[2].first, "1.0.proj.weight");
}

TEST(Module, ContextGivenToTheWrongModuleIsAnErrorNamingIt) {
  Generator gen(3);
  Linear fc(4, 3, gen);
  Variable x(randn({5, 4}, gen)), t(randn({5, 2}, gen));
  EXPECT_NE(error_of([&] { fc(x, t); }).find("Linear(in_features=4, out_features=3, bias=True): this module takes one input"),
            std::string::npos);
  AddContext block(2, 4, gen);
  EXPECT_NE(error_of([&] { block(x); }).find("AddContext(): this module does not define forward(x)"), std::string::npos);
  Sequential plain{std::make_shared<Linear>(4, 3, gen), std::make_shared<ReLU>()};
  EXPECT_NE(error_of([&] { plain(x, t); }).find("none of its modules takes one"), std::string::npos);
}

TEST(Module, ModuleListRegistersByIndexAndHasNoForward) {
  Generator gen(3);
  ModuleList blocks;
  auto first = blocks.add(std::make_shared<Linear>(4, 3, gen));
  blocks.add(std::make_shared<Linear>(3, 2, gen));
  EXPECT_EQ(blocks.size(), 2u);
  EXPECT_EQ(blocks[0], first);
  EXPECT_EQ(names_of(blocks.named_parameters()), (std::vector<std::string>{"0.weight", "0.bias", "1.weight", "1.bias"}));
  EXPECT_NE(error_of([&] { blocks[2]; }).find("ModuleList(): index 2 is out of range for 2 modules"), std::string::npos);
  EXPECT_NE(error_of([&] { blocks(Tensor::zeros({1, 4})); }).find("ModuleList(): this module does not define forward"),
            std::string::npos);
}

TEST(Module, PrintNestsChildrenLikePyTorch) {
  TwoLayer model;
  EXPECT_EQ(model.print(),
            "TwoLayer(\n"
            "  (fc1): Linear(in_features=4, out_features=3, bias=True)\n"
            "  (norm): BatchNorm1d(3, eps=1e-05, momentum=0.1, affine=True, track_running_stats=True)\n"
            "  (fc2): Linear(in_features=3, out_features=2, bias=True)\n"
            ")");
  Sequential seq{std::make_shared<Linear>(2, 2), std::make_shared<Sequential>(std::initializer_list<std::shared_ptr<Module>>{
                                                     std::make_shared<ReLU>(), std::make_shared<Dropout>(0.25)})};
  EXPECT_EQ(seq.print(),
            "Sequential(\n"
            "  (0): Linear(in_features=2, out_features=2, bias=True)\n"
            "  (1): Sequential(\n"
            "    (0): ReLU()\n"
            "    (1): Dropout(p=0.25, inplace=False)\n"
            "  )\n"
            ")");
}

}  // namespace hd
