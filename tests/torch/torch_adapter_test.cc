// The libtorch adapter: at::Tensor <-> TensorView (zero-copy, strides, dtypes) and SplitModel
// loading and running (errors that name the file, shape checks, known predictions).
#include <ATen/Parallel.h>
#include <gtest/gtest.h>
#include <torch/script.h>

#include <cstring>
#include <string>
#include <vector>

#include "ftcodec/ftcodec.h"
#include "ftcodec/torch.h"
#include "tests/test_util.h"

namespace ftc {
namespace {

at::Tensor Ramp(at::IntArrayRef shape, at::ScalarType t = at::kFloat) {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return at::arange(n, at::TensorOptions().dtype(at::kFloat)).reshape(shape).mul(0.25).to(t);
}

TEST(TorchAdapterTest, ViewOfContiguousIsZeroCopy) {
  at::Tensor t = Ramp({2, 3, 4, 5});
  Result<TensorView> v = ViewOf(t);
  ASSERT_TRUE(v.ok()) << v.status().ToString();
  EXPECT_EQ(v->data, t.data_ptr());
  EXPECT_EQ(v->dtype, DType::kF32);
  EXPECT_EQ(v->shape_vector(), (Shape{2, 3, 4, 5}));
  EXPECT_EQ(v->strides[0], 60);
  EXPECT_EQ(v->strides[3], 1);
  EXPECT_TRUE(v->is_contiguous());
}

TEST(TorchAdapterTest, ViewOfPassesStridesThrough) {
  at::Tensor base = Ramp({2, 6, 4, 8});
  // A transpose, a stepped slice and a narrowed batch (storage offset): all viewed in place.
  for (const at::Tensor& t :
       {base.transpose(2, 3), base.slice(1, 1, 6, 2), base.narrow(0, 1, 1), base.select(1, 2)}) {
    Result<TensorView> v = ViewOf(t);
    ASSERT_TRUE(v.ok()) << v.status().ToString();
    EXPECT_EQ(v->data, t.data_ptr());
    for (int i = 0; i < v->rank; ++i) {
      EXPECT_EQ(v->shape[i], t.size(i));
      EXPECT_EQ(v->strides[i], t.stride(i));
    }
    Result<Tensor> copy = Tensor::CopyOf(*v);
    ASSERT_TRUE(copy.ok());
    const at::Tensor c = t.contiguous();
    ASSERT_EQ(copy->size_bytes(), static_cast<size_t>(c.numel()) * 4);
    EXPECT_EQ(std::memcmp(copy->data(), c.data_ptr(), copy->size_bytes()), 0);
  }
}

TEST(TorchAdapterTest, ViewOfDTypes) {
  const std::vector<std::pair<at::ScalarType, DType>> ok = {{at::kFloat, DType::kF32},
                                                            {at::kHalf, DType::kF16},
                                                            {at::kBFloat16, DType::kBF16},
                                                            {at::kByte, DType::kU8}};
  for (const auto& [st, dt] : ok) {
    at::Tensor t = Ramp({3, 4}, st);
    Result<TensorView> v = ViewOf(t);
    ASSERT_TRUE(v.ok()) << v.status().ToString();
    EXPECT_EQ(v->dtype, dt);
    EXPECT_EQ(v->data, t.data_ptr());
    EXPECT_FLOAT_EQ(LoadAsFloat(*v, 5), t.flatten()[5].item<float>());
  }
  for (at::ScalarType st : {at::kDouble, at::kLong, at::kInt, at::kBool, at::kChar}) {
    Result<TensorView> v = ViewOf(Ramp({3, 4}).to(st));
    ASSERT_FALSE(v.ok());
    EXPECT_EQ(v.status().code(), StatusCode::kInvalidArgument);
    EXPECT_NE(v.status().message().find("not supported"), std::string::npos);
  }
}

TEST(TorchAdapterTest, ViewOfRejectsBadShapes) {
  EXPECT_FALSE(ViewOf(at::Tensor()).ok());
  EXPECT_FALSE(ViewOf(at::scalar_tensor(1.0f)).ok());     // rank 0
  EXPECT_FALSE(ViewOf(at::zeros({1, 2, 3, 4, 5})).ok());  // rank 5
  EXPECT_FALSE(ViewOf(at::zeros({2, 0, 3})).ok());        // empty
}

TEST(TorchAdapterTest, AsTorchAndToTorchAreZeroCopy) {
  Result<Tensor> t = Tensor::Create(DType::kF32, {2, 3, 4});
  ASSERT_TRUE(t.ok());
  for (int i = 0; i < 24; ++i) t->data_as<float>()[i] = static_cast<float>(i) - 7.5f;
  Result<at::Tensor> wrapped = AsTorch(t->view());
  ASSERT_TRUE(wrapped.ok());
  EXPECT_EQ(wrapped->data_ptr(), static_cast<void*>(t->data()));
  EXPECT_EQ(wrapped->sizes(), at::IntArrayRef({2, 3, 4}));
  EXPECT_EQ(wrapped->scalar_type(), at::kFloat);

  // Strided view: strides go through.
  TensorView tv = TensorView::Strided(t->data(), DType::kF32, {3, 2}, {1, 12});
  Result<at::Tensor> strided = AsTorch(tv);
  ASSERT_TRUE(strided.ok());
  EXPECT_EQ(strided->stride(0), 1);
  EXPECT_EQ(strided->stride(1), 12);
  EXPECT_FLOAT_EQ((*strided)[2][1].item<float>(), t->data_as<float>()[2 + 12]);

  Result<at::Tensor> copy = CopyToTorch(tv);
  ASSERT_TRUE(copy.ok());
  EXPECT_NE(copy->data_ptr(), static_cast<void*>(t->data()));
  EXPECT_TRUE(copy->is_contiguous());
  EXPECT_TRUE(at::equal(*copy, *strided));

  const void* buffer = t->data();
  at::Tensor owned = ToTorch(std::move(*t));
  EXPECT_EQ(owned.data_ptr(), buffer);  // took the buffer over
  EXPECT_FLOAT_EQ(owned[1][2][3].item<float>(), 23 - 7.5f);
}

TEST(TorchAdapterTest, EncodeDecodeRoundTripThroughTorch) {
  for (at::ScalarType st : {at::kFloat, at::kHalf, at::kBFloat16}) {
    at::Tensor t = at::randn({3, 8, 5, 6}).to(st).transpose(2, 3);  // not contiguous
    Result<TensorView> v = ViewOf(t);
    ASSERT_TRUE(v.ok());
    EncoderOptions o;
    o.codec = "ans";
    o.lossless = true;
    Result<Bytes> code = encode(*v, o);
    ASSERT_TRUE(code.ok()) << code.status().ToString();
    Result<Tensor> back = decode(*code);
    ASSERT_TRUE(back.ok()) << back.status().ToString();
    at::Tensor tb = ToTorch(std::move(*back));
    EXPECT_EQ(tb.scalar_type(), st);
    EXPECT_TRUE(at::equal(tb, t.contiguous()));
  }
}

TEST(TorchAdapterTest, SetTorchThreads) {
  SetTorchThreads(2);
  EXPECT_EQ(at::get_num_threads(), 2);
  SetTorchThreads(0);
  EXPECT_EQ(at::get_num_threads(), DefaultTorchThreads());
  SetTorchThreads(1);
}

// ---- SplitModel ----

class SplitModelTest : public ::testing::Test {
 protected:
  void SetUp() override { dir_ = test::MakeTempDir(); }
  void TearDown() override { std::system(("rm -rf '" + dir_ + "'").c_str()); }

  std::string Save(const std::string& name, const std::string& source) {
    torch::jit::Module m(name);
    m.define(source);
    const std::string path = dir_ + "/" + name + ".pt";
    m.save(path);
    return path;
  }
  // N×1×8×8 -> N×4×4×4 features; channel c is the 2×2-subsampled image times (c + 1).
  std::string Head() {
    return Save("head", R"(
def forward(self, x):
    y = x[:, :, ::2, ::2] / 255.0
    return torch.cat([y, 2.0 * y, 3.0 * y, 4.0 * y], 1)
)");
  }
  // Logits = per-channel sums: the arg-max is the channel with the largest sum.
  std::string Tail() {
    return Save("tail", R"(
def forward(self, f):
    return f.sum(dim=[2, 3])
)");
  }
  std::string dir_;
};

TEST_F(SplitModelTest, LoadsAndRuns) {
  SplitModelOptions o;
  o.threads = 1;
  o.probe_input_shape = {1, 1, 8, 8};
  Result<SplitModel> m = SplitModel::Load(Head(), Tail(), o);
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  EXPECT_TRUE(m->has_head());
  EXPECT_EQ(m->feature_shape(), (Shape{4, 4, 4}));
  at::Tensor x = at::rand({3, 1, 8, 8}).mul(255);
  Result<at::Tensor> f = m->RunHead(x);
  ASSERT_TRUE(f.ok());
  EXPECT_EQ(f->sizes(), at::IntArrayRef({3, 4, 4, 4}));
  Result<at::Tensor> logits = m->RunTail(*f);
  ASSERT_TRUE(logits.ok());
  EXPECT_EQ(logits->sizes(), at::IntArrayRef({3, 4}));
  // Through the libtorch-free API: u8 images, known class (channel 3 has the largest sum).
  std::vector<uint8_t> px(2 * 64, 10);
  Result<Tensor> feat = m->Head(TensorView::Contiguous(px.data(), DType::kU8, {2, 1, 8, 8}));
  ASSERT_TRUE(feat.ok()) << feat.status().ToString();
  EXPECT_EQ(feat->shape(), (Shape{2, 4, 4, 4}));
  EXPECT_FLOAT_EQ(feat->data_as<float>()[16 * 3], 4 * (10 / 255.0f));
  Result<std::vector<int>> cls = m->Classify(feat->view());
  ASSERT_TRUE(cls.ok());
  EXPECT_EQ(*cls, (std::vector<int>{3, 3}));
}

TEST_F(SplitModelTest, ErrorsNameTheFile) {
  const std::string tail = Tail();
  Result<SplitModel> missing = SplitModel::Load(dir_ + "/nope.pt", tail);
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().code(), StatusCode::kIoError);
  EXPECT_NE(missing.status().message().find("nope.pt"), std::string::npos);

  const std::string junk = dir_ + "/junk.pt";
  test::WriteFileBytes(junk, {'n', 'o', 't', ' ', 'a', ' ', 'z', 'i', 'p'});
  Result<SplitModel> bad = SplitModel::Load(Head(), junk);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), StatusCode::kCorruptData);
  EXPECT_NE(bad.status().message().find("junk.pt: not a TorchScript file"), std::string::npos)
      << bad.status().message();
}

TEST_F(SplitModelTest, RejectsWrongOutputShapes) {
  SplitModelOptions o;
  o.probe_input_shape = {1, 1, 8, 8};
  const std::string bad_tail = Save("bad_tail", R"(
def forward(self, f):
    return f.sum(dim=[3])
)");
  Result<SplitModel> m = SplitModel::Load(Head(), bad_tail, o);
  ASSERT_FALSE(m.ok());
  EXPECT_EQ(m.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(m.status().message().find("bad_tail.pt: output must be N×K logits"), std::string::npos)
      << m.status().message();

  const std::string bad_head = Save("bad_head", R"(
def forward(self, x):
    return x.sum()
)");
  m = SplitModel::Load(bad_head, Tail(), o);
  ASSERT_FALSE(m.ok());
  EXPECT_NE(m.status().message().find("bad_head.pt: output must be N×C×H×W"), std::string::npos)
      << m.status().message();

  // An input the head cannot take: the message says so and names the input shape.
  o.probe_input_shape = {1, 3};
  m = SplitModel::Load(Head(), Tail(), o);
  ASSERT_FALSE(m.ok());
  EXPECT_NE(m.status().message().find("head.pt: forward() failed on input 1x3"), std::string::npos)
      << m.status().message();
}

TEST_F(SplitModelTest, TailOnly) {
  Result<SplitModel> m = SplitModel::LoadTail(Tail());
  ASSERT_TRUE(m.ok());
  EXPECT_FALSE(m->has_head());
  EXPECT_FALSE(m->RunHead(at::zeros({1, 1, 8, 8})).ok());
  at::Tensor f = at::zeros({5, 6, 2, 2});
  for (int i = 0; i < 5; ++i) f[i][(i * 2) % 6].fill_(1.0f);
  Result<TensorView> v = ViewOf(f);
  ASSERT_TRUE(v.ok());
  Result<std::vector<int>> cls = m->Classify(*v);
  ASSERT_TRUE(cls.ok());
  EXPECT_EQ(*cls, (std::vector<int>{0, 2, 4, 0, 2}));
}

}  // namespace
}  // namespace ftc
