// Split inference with ftcodec, end to end: the device runs the head of a model, encodes the
// features into bytes, the server decodes them and runs the tail.
//
//   split_infer [--head H.pt --tail T.pt] [--data DIR] [-n COUNT] [--bits B]
//
// Defaults: the bundled reference model (data/models/fmnist_resnet_s1_{head,tail}.pt) and the
// first images of the Fashion-MNIST test set (Debian's dataset-fashion-mnist). Uses only the
// public API (ftcodec/ftcodec.h, and ftcodec/torch.h from the ftcodec_torch component).
// Exit code 77 when the model or the images are not there (a test harness reads it as "skip").
#include <zlib.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "ftcodec/ftcodec.h"
#include "ftcodec/torch.h"

namespace {

constexpr int kSkip = 77;
constexpr const char* kClasses[10] = {"T-shirt", "Trouser", "Pullover", "Dress", "Coat",
                                      "Sandal",  "Shirt",   "Sneaker",  "Bag",   "Boot"};

// The first `n` bytes after the header of a (gzipped) IDX file; false if missing or short.
bool ReadIdx(const std::string& path, size_t header, size_t n, std::vector<uint8_t>* out) {
  gzFile f = gzopen(path.c_str(), "rb");
  if (!f) return false;
  std::vector<uint8_t> buf(header + n);
  const int got = gzread(f, buf.data(), static_cast<unsigned>(buf.size()));
  gzclose(f);
  if (got != static_cast<int>(buf.size())) return false;
  out->assign(buf.begin() + static_cast<long>(header), buf.end());
  return true;
}

int Fail(const ftc::Status& s) {
  std::fprintf(stderr, "split_infer: %s\n", s.ToString().c_str());
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  std::string models = std::string(FTC_SOURCE_DIR) + "/data/models";
  std::string head = models + "/fmnist_resnet_s1_head.pt";
  std::string tail = models + "/fmnist_resnet_s1_tail.pt";
  std::string data = "/usr/share/datasets/fashion-mnist";
  int count = 6, bits = 3;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    const bool has_value = i + 1 < argc;
    if (a == "--head" && has_value) {
      head = argv[++i];
    } else if (a == "--tail" && has_value) {
      tail = argv[++i];
    } else if (a == "--data" && has_value) {
      data = argv[++i];
    } else if (a == "-n" && has_value) {
      count = std::atoi(argv[++i]);
    } else if (a == "--bits" && has_value) {
      bits = std::atoi(argv[++i]);
    } else {
      std::fprintf(stderr,
                   "usage: split_infer [--head H.pt --tail T.pt] [--data DIR] [-n COUNT] "
                   "[--bits B]\n");
      return 1;
    }
  }
  if (count < 1 || count > 10000) count = 6;

  // A few 28×28 test images and their labels.
  std::vector<uint8_t> pixels, labels;
  if (!ReadIdx(data + "/t10k-images-idx3-ubyte.gz", 16, size_t(count) * 784, &pixels) ||
      !ReadIdx(data + "/t10k-labels-idx1-ubyte.gz", 8, size_t(count), &labels)) {
    std::fprintf(stderr, "split_infer: Fashion-MNIST not found in %s: skipped\n", data.c_str());
    return kSkip;
  }

  // The model: both halves, checked on a dummy image.
  ftc::SplitModelOptions mo;
  mo.probe_input_shape = {1, 1, 28, 28};
  ftc::Result<ftc::SplitModel> model = ftc::SplitModel::Load(head, tail, mo);
  if (!model.ok()) {
    if (model.status().code() == ftc::StatusCode::kIoError) {
      std::fprintf(stderr, "split_infer: %s: skipped\n", model.status().message().c_str());
      return kSkip;
    }
    return Fail(model.status());
  }

  ftc::EncoderOptions opts;
  opts.codec = "ans";
  opts.bits = bits;
  opts.clip = ftc::ClipSpec::Parse("3sigma").value();
  if (ftc::Status s = opts.Validate(); !s.ok()) return Fail(s);

  std::printf("split inference: %s | %s, ans %d-bit 3sigma\n", head.c_str(), tail.c_str(), bits);
  int agree = 0, correct = 0;
  for (int i = 0; i < count; ++i) {
    // --- device: raw image -> head -> features -> bytes ---
    ftc::TensorView image_u8 =
        ftc::TensorView::Contiguous(pixels.data() + i * 784, ftc::DType::kU8, {1, 1, 28, 28});
    at::Tensor image = ftc::AsTorch(image_u8).value().to(at::kFloat);  // the head wants 0..255
    ftc::Result<at::Tensor> features = model->RunHead(image);
    if (!features.ok()) return Fail(features.status());
    ftc::Result<ftc::TensorView> view = ftc::ViewOf(*features);  // zero-copy
    if (!view.ok()) return Fail(view.status());
    ftc::Result<ftc::Bytes> code = ftc::encode(*view, opts);
    if (!code.ok()) return Fail(code.status());

    // --- server: bytes -> features -> tail -> class ---
    ftc::Result<ftc::Tensor> decoded = ftc::decode(*code);
    if (!decoded.ok()) return Fail(decoded.status());
    ftc::Result<at::Tensor> logits = model->RunTail(ftc::ToTorch(std::move(*decoded)));
    if (!logits.ok()) return Fail(logits.status());
    const int predicted = static_cast<int>(logits->argmax(1).item<int64_t>());

    // The same tail on the uncompressed features, for comparison.
    ftc::Result<at::Tensor> ref_logits = model->RunTail(*features);
    if (!ref_logits.ok()) return Fail(ref_logits.status());
    const int reference = static_cast<int>(ref_logits->argmax(1).item<int64_t>());

    const int64_t f32_bytes = view->num_elements() * 4;
    std::printf(
        "image %d (%-8s): features %s: %lld bytes as f32 -> %zu bytes coded (%.2f "
        "bits/element); predicted %-8s (uncompressed: %s)\n",
        i, kClasses[labels[i] % 10], ftc::ShapeToString(view->shape_vector()).c_str(),
        static_cast<long long>(f32_bytes), code->size(),
        8.0 * static_cast<double>(code->size()) / static_cast<double>(view->num_elements()),
        kClasses[predicted % 10], kClasses[reference % 10]);
    agree += predicted == reference;
    correct += predicted == labels[i];
  }
  std::printf("%d of %d predictions agree with the uncompressed features; %d of %d correct\n",
              agree, count, correct, count);
  return 0;
}
