#include "bench/harness/loss_accuracy.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <map>
#include <sstream>
#include <utility>

#include "base/json_string.h"
#include "base/status_macros.h"
#include "bench/harness/dataset.h"
#include "bench/harness/report.h"

namespace ftc::bench {
namespace {

std::vector<std::string> Split(const std::string& s, char sep) {
  std::vector<std::string> out;
  std::stringstream in(s);
  std::string item;
  while (std::getline(in, item, sep)) out.push_back(item);
  return out;
}

bool ParseDouble(const std::string& s, double* v) {
  if (s.empty()) return false;
  char* end = nullptr;
  *v = std::strtod(s.c_str(), &end);
  return end != nullptr && *end == '\0' && std::isfinite(*v);
}

std::string Num(double v, int digits = 6) {
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%.*g", digits, v);
  return buf;
}

std::string Fixed(double v, int decimals) {
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%.*f", decimals, v);
  return buf;
}

uint64_t SplitMix(uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

}  // namespace

Result<std::vector<LossSetting>> ParseLossSpec(const std::string& text) {
  const std::vector<std::string> parts = Split(text, ':');
  auto bad = [&](const std::string& why) {
    return Status(StatusCode::kInvalidArgument,
                  "--loss '" + text + "': " + why +
                      " (want iid:RATE[,RATE...] or ge:RATE:BURST, rates in 0..1)");
  };
  std::vector<LossSetting> out;
  if (parts.size() == 2 && parts[0] == "iid") {
    for (const std::string& r : Split(parts[1], ',')) {
      LossSetting s;
      s.kind = "iid";
      if (!ParseDouble(r, &s.rate) || s.rate < 0 || s.rate > 1) return bad("bad rate '" + r + "'");
      s.label = "iid " + Num(s.rate);
      if (s.rate > 0 && s.rate < 1) {
        s.model.kind = LossModel::Kind::kIid;
        s.model.rate = s.rate;
        if (Status st = s.model.Validate(); !st.ok()) return bad(st.message());
      }
      out.push_back(s);
    }
    if (out.empty()) return bad("no rates");
    return out;
  }
  if (parts.size() == 3 && parts[0] == "ge") {
    LossSetting s;
    s.kind = "ge";
    if (!ParseDouble(parts[1], &s.rate) || s.rate < 0 || s.rate >= 1) return bad("bad rate");
    if (!ParseDouble(parts[2], &s.burst) || s.burst < 1) return bad("burst must be >= 1");
    s.label = "ge " + Num(s.rate) + " B" + Num(s.burst);
    if (s.rate > 0) {
      s.model.kind = LossModel::Kind::kGilbertElliott;
      s.model.rate = s.rate;
      s.model.burst = s.burst;
      if (Status st = s.model.Validate(); !st.ok()) return bad(st.message());
    }
    out.push_back(s);
    return out;
  }
  return bad("unknown form");
}

void AddReferenceScenario(std::vector<LossSetting>* settings) {
  for (const LossSetting& s : *settings) {
    if (s.kind == "ge" && s.rate == 0.3 && s.burst == 7) return;
  }
  Result<std::vector<LossSetting>> dfts2 = ParseLossSpec("ge:0.3:7");
  if (dfts2.ok()) settings->insert(settings->end(), dfts2->begin(), dfts2->end());
}

Result<EncoderOptions> ParseLossCodec(const std::string& text) {
  const std::vector<std::string> parts = Split(text, ':');
  if (parts.size() == 1 && parts[0] == "raw") {
    EncoderOptions o;
    o.codec = "raw";
    o.store_dtype = DType::kF32;
    return o;
  }
  if (parts.size() >= 2 && parts.size() <= 3 && parts[0] == "ans") {
    double bits = 0;
    if (!ParseDouble(parts[1], &bits) || bits != std::floor(bits) || bits < 1 || bits > 16) {
      return Status(StatusCode::kInvalidArgument, "--loss-codec '" + text + "': bits 1..16");
    }
    Result<EncoderOptions> o =
        AnsSettingOptions(parts.size() == 3 ? parts[2] : "3sigma", static_cast<int>(bits));
    if (!o.ok()) return o.status().WithContext("--loss-codec '" + text + "'");
    return o;
  }
  return Status(StatusCode::kInvalidArgument,
                "--loss-codec '" + text + "': want ans:BITS[:CLIP[/pc][/dzD]] or raw");
}

Result<PacketizedBatch> PacketizeBatch(const TensorView& features, const EncoderOptions& codec,
                                       const PacketOptions& packet_options) {
  FTC_RETURN_IF_ERROR(features.Validate());
  if (features.rank < 2 || features.rank > 4 || !features.is_contiguous()) {
    return Status(StatusCode::kInvalidArgument, "features must be contiguous N×C[×H[×W]]");
  }
  PacketizedBatch b;
  b.sample_shape = features.shape_vector();
  b.sample_shape[0] = 1;
  b.samples = features.shape[0];
  // The codec's view of a sample (docs/format.md "The sample"): N samples of C×H×W.
  const int64_t n = features.shape[0];
  const int64_t c = features.rank == 4 ? features.shape[1] : 1;
  const int64_t w = features.shape[features.rank - 1];
  const int64_t h = n * c * w > 0 ? features.num_elements() / (n * c * w) : 0;
  const TensorView all = TensorView::Contiguous(features.data, features.dtype, {n, c, h, w});
  FTC_ASSIGN_OR_RETURN(b.packets, encode_packets(all, codec, packet_options));
  return b;
}

Result<std::shared_ptr<const ConcealPredictor>> FitLossPredictor(const TensorView& f) {
  FTC_RETURN_IF_ERROR(f.Validate());
  if (f.rank < 2 || !f.is_contiguous()) {
    return Status(StatusCode::kInvalidArgument, "features must be contiguous N×C[×H[×W]]");
  }
  const int64_t n = f.shape[0];
  const int64_t c = f.rank == 4 ? f.shape[1] : 1;
  const int64_t w = f.shape[f.rank - 1];
  const int64_t h = n * c * w > 0 ? f.num_elements() / (n * c * w) : 0;
  FTC_ASSIGN_OR_RETURN(ConcealPredictor p, fit_conceal_predictor(TensorView::Contiguous(
                                               f.data, f.dtype, {n, c, h, w})));
  return std::make_shared<const ConcealPredictor>(std::move(p));
}

void LossTally::Merge(const LossTally& o) {
  samples += o.samples;
  correct += o.correct;
  packets += o.packets;
  packets_lost += o.packets_lost;
  bytes += o.bytes;
  elements += o.elements;
  lost_elements += o.lost_elements;
}

uint64_t LossSeed(int seed_index, int64_t sample) {
  return SplitMix(SplitMix(static_cast<uint64_t>(seed_index) + 0x5eedULL) ^
                  static_cast<uint64_t>(sample));
}

Result<LossTally> EvaluateLoss(const PacketizedBatch& batch, const std::vector<int>& labels,
                               const FeatureClassifier& tail, const LossSetting& loss,
                               ConcealMethod method, int seeds, int64_t first_sample,
                               const ConcealOptions& conceal) {
  const int64_t n = batch.samples;
  if (static_cast<int64_t>(labels.size()) != n) {
    return Status(StatusCode::kInvalidArgument, "packets of " + std::to_string(n) +
                                                    " samples but " +
                                                    std::to_string(labels.size()) + " labels");
  }
  if (seeds < 1) return Status(StatusCode::kInvalidArgument, "seeds must be >= 1");
  const Shape& ss = batch.sample_shape;
  int64_t per_sample = 1;
  for (int64_t d : ss) per_sample *= d;
  // The codec's view of a sample (docs/format.md "The sample"): 1×T×D tokens are 1×T×D.
  const int64_t c = ss.size() == 4 ? ss[1] : 1;
  const int64_t w = ss.back();
  const int64_t h = per_sample / (c * w);
  Shape batch_shape = ss;
  batch_shape[0] = n;
  FTC_ASSIGN_OR_RETURN(Tensor decoded, Tensor::Create(DType::kF32, batch_shape));
  PacketDecoderOptions dopts;
  dopts.dtype = DType::kF32;
  dopts.conceal = conceal;

  LossTally t;
  const std::vector<Bytes>& packets = batch.packets;
  const int64_t total = n * per_sample;
  for (int seed = 0; seed < seeds; ++seed) {
    std::vector<uint8_t> lost(packets.size(), 0);
    if (loss.rate >= 1) {
      std::fill(lost.begin(), lost.end(), 1);
    } else if (loss.model.kind != LossModel::Kind::kNone) {
      FTC_ASSIGN_OR_RETURN(lost,
                           SimulateLoss(loss.model, packets.size(), LossSeed(seed, first_sample)));
    }
    Decoder d(dopts);
    for (size_t k = 0; k < packets.size(); ++k) {
      t.packets += 1;
      t.bytes += packets[k].size();
      if (lost[k]) {
        t.packets_lost += 1;
        continue;
      }
      if (Status s = d.push(packets[k]); !s.ok()) {
        return s.WithContext("packet " + std::to_string(k));
      }
    }
    float* dst = decoded.data_as<float>();
    if (d.stats().accepted == 0) {
      // No data packet arrived (or no parameter set): the shape is known from the sender side;
      // every sample is concealed alone.
      std::fill(dst, dst + total, 0.0f);
      std::vector<uint8_t> all(static_cast<size_t>(per_sample), 1);
      for (int64_t i = 0; i < n; ++i) {
        FTC_RETURN_IF_ERROR(
            conceal_sample(dst + i * per_sample, all.data(), c, h, w, method, conceal));
      }
      t.lost_elements += total;
    } else {
      Result<DecodedTensor> r = d.finish(method);
      if (!r.ok()) return r.status();
      if (r->tensor.num_elements() != total || r->tensor.dtype() != DType::kF32) {
        return Status(StatusCode::kInternal, "decoded tensor has the wrong size or type");
      }
      std::memcpy(dst, r->tensor.data(), static_cast<size_t>(total) * sizeof(float));
      t.lost_elements += r->mask.lost_count;
    }
    t.elements += total;
    FTC_ASSIGN_OR_RETURN(std::vector<int> pred, tail(decoded.view()));
    if (static_cast<int64_t>(pred.size()) != n) {
      return Status(StatusCode::kInvalidArgument,
                    "the tail returned the wrong number of "
                    "predictions");
    }
    for (int64_t i = 0; i < n; ++i) t.correct += pred[i] == labels[i] ? 1 : 0;
    t.samples += n;
  }
  return t;
}

LossRow FinishLossRow(const LossSetting& loss, int packet_size, const std::string& method,
                      int seeds, const LossTally& t, double lossfree_top1) {
  LossRow r;
  r.loss = loss;
  r.packet_size = packet_size;
  r.method = method;
  r.seeds = seeds;
  r.tally = t;
  if (t.samples > 0) {
    const double n = static_cast<double>(t.samples);
    r.top1 = 100.0 * static_cast<double>(t.correct) / n;
    r.top1_stderr = Top1StdErr(t.correct, t.samples);
    r.packets_per_sample = static_cast<double>(t.packets) / n;
    r.bytes_per_sample = static_cast<double>(t.bytes) / n;
  }
  r.top1_drop = lossfree_top1 - r.top1;
  if (t.packets > 0) {
    r.lost_packet_fraction = static_cast<double>(t.packets_lost) / static_cast<double>(t.packets);
  }
  if (t.elements > 0) {
    r.lost_element_fraction =
        static_cast<double>(t.lost_elements) / static_cast<double>(t.elements);
  }
  return r;
}

std::string FormatLossCsv(const LossReport& r) {
  std::string o =
      "loss,kind,rate,burst,packet_size,method,samples,seeds,top1,top1_drop,top1_stderr,"
      "lost_packet_fraction,lost_element_fraction,packets_per_sample,bytes_per_sample\n";
  for (const LossRow& x : r.rows) {
    o += x.loss.label + "," + x.loss.kind + "," + Num(x.loss.rate) + "," + Num(x.loss.burst) + "," +
         std::to_string(x.packet_size) + "," + x.method + "," +
         std::to_string(x.tally.samples / std::max(1, x.seeds)) + "," + std::to_string(x.seeds) +
         "," + Num(x.top1) + "," + Num(x.top1_drop) + "," + Num(x.top1_stderr) + "," +
         Num(x.lost_packet_fraction) + "," + Num(x.lost_element_fraction) + "," +
         Num(x.packets_per_sample) + "," + Num(x.bytes_per_sample) + "\n";
  }
  return o;
}

std::string FormatLossJson(const LossReport& r) {
  std::string o =
      "{\n  \"model\": " + JsonString(r.model) + ",\n  \"data\": " + JsonString(r.data) +
      ",\n  \"command\": " + JsonString(r.command) + ",\n  \"codec\": " + JsonString(r.codec) +
      ",\n  \"samples\": " + std::to_string(r.samples) +
      ",\n  \"reference_top1\": " + (r.reference_top1 < 0 ? "null" : Num(r.reference_top1)) +
      ",\n  \"lossfree_top1\": {";
  for (size_t i = 0; i < r.lossfree_top1.size(); ++i) {
    o += (i ? ", " : "") + JsonString(std::to_string(r.lossfree_top1[i].first)) + ": " +
         Num(r.lossfree_top1[i].second);
  }
  o += "},\n  \"rows\": [\n";
  for (size_t i = 0; i < r.rows.size(); ++i) {
    const LossRow& x = r.rows[i];
    o += "    {\"loss\": " + JsonString(x.loss.label) + ", \"kind\": " + JsonString(x.loss.kind) +
         ", \"rate\": " + Num(x.loss.rate) + ", \"burst\": " + Num(x.loss.burst) +
         ", \"packet_size\": " + std::to_string(x.packet_size) +
         ", \"method\": " + JsonString(x.method) +
         ", \"samples\": " + std::to_string(x.tally.samples / std::max(1, x.seeds)) +
         ", \"seeds\": " + std::to_string(x.seeds) + ", \"top1\": " + Num(x.top1) +
         ", \"top1_drop\": " + Num(x.top1_drop) + ", \"top1_stderr\": " + Num(x.top1_stderr) +
         ", \"lost_packet_fraction\": " + Num(x.lost_packet_fraction) +
         ", \"lost_element_fraction\": " + Num(x.lost_element_fraction) +
         ", \"packets_per_sample\": " + Num(x.packets_per_sample) +
         ", \"bytes_per_sample\": " + Num(x.bytes_per_sample) + "}" +
         (i + 1 < r.rows.size() ? ",\n" : "\n");
  }
  return o + "  ]\n}\n";
}

std::string FormatLossTable(const LossReport& r) {
  char buf[256];
  std::string o;
  std::snprintf(buf, sizeof(buf), "%-14s %6s %-8s %8s %7s %8s %8s %8s\n", "loss", "pkt_B", "method",
                "top1%", "drop", "lost_pk", "lost_el", "pkts/smp");
  o += buf;
  for (const LossRow& x : r.rows) {
    std::snprintf(buf, sizeof(buf), "%-14s %6d %-8s %8.2f %7.2f %8.4f %8.4f %8.2f\n",
                  x.loss.label.c_str(), x.packet_size, x.method.c_str(), x.top1, x.top1_drop,
                  x.lost_packet_fraction, x.lost_element_fraction, x.packets_per_sample);
    o += buf;
  }
  return o;
}

std::string LossGnuplotScript(const LossReport& r, const std::string& png_path,
                              const std::string& svg_path) {
  // Series: (method, packet size, kind) -> rows, in order of appearance.
  std::vector<std::string> keys;
  std::map<std::string, std::vector<const LossRow*>> pts;
  std::vector<std::string> methods;
  double ymin = 100, ymax = 0, xmax = 0;
  for (const LossRow& x : r.rows) {
    if (std::find(methods.begin(), methods.end(), x.method) == methods.end()) {
      methods.push_back(x.method);
    }
    std::string key = x.method;
    if (x.packet_size != r.main_packet_size) key += " (" + std::to_string(x.packet_size) + " B)";
    if (x.loss.kind == "ge") key += " GE B" + Num(x.loss.burst);
    if (!pts.count(key)) keys.push_back(key);
    pts[key].push_back(&x);
    ymin = std::min(ymin, x.top1);
    ymax = std::max(ymax, x.top1);
    xmax = std::max(xmax, 100 * x.loss.rate);
  }
  std::ostringstream o;
  for (size_t i = 0; i < keys.size(); ++i) {
    std::vector<const LossRow*>& p = pts[keys[i]];
    std::stable_sort(p.begin(), p.end(), [](const LossRow* a, const LossRow* b) {
      return a->loss.rate < b->loss.rate;
    });
    o << "$s" << i << " << EOD\n";
    for (const LossRow* x : p) o << Num(100 * x->loss.rate) << ' ' << Num(x->top1) << '\n';
    o << "EOD\n";
  }
  const double lo = std::max(0.0, std::floor(ymin - 2)), hi = std::min(100.0, std::ceil(ymax + 1));
  std::string title = "Top-1 under packet loss: " + r.model + ", " + r.codec + ", " +
                      std::to_string(r.samples) + " samples";
  std::string plot;
  for (size_t i = 0; i < keys.size(); ++i) {
    const LossRow* first = pts[keys[i]].front();
    const size_t color =
        std::find(methods.begin(), methods.end(), first->method) - methods.begin() + 1;
    const bool main = first->packet_size == r.main_packet_size;
    const bool ge = first->loss.kind == "ge";
    plot +=
        std::string(i ? ", \\\n     " : "") + "$s" + std::to_string(i) + " using 1:2 with " +
        (ge ? (main ? "points pt 7 ps 1.3" : "points pt 6 ps 1.3") : "linespoints pt 7 ps 0.7") +
        " lc " + std::to_string(color) + (main ? " dt 1" : " dt 2") + " lw " + (main ? "2" : "1") +
        " title " + GpString(keys[i]);
  }
  for (const auto& [size, top1] : r.lossfree_top1) {
    if (size != r.main_packet_size) continue;
    plot += ", \\\n     " + Num(top1) + " with lines lc rgb 'gray' dt 3 title " +
            GpString("loss-free " + Fixed(top1, 2) + "%");
  }
  for (int fmt = 0; fmt < 2; ++fmt) {
    if (fmt == 0) {
      o << "set terminal pngcairo size 1000,650 font 'sans,10' noenhanced\nset output "
        << GpString(png_path) << "\n";
    } else {
      o << "set terminal svg size 1000,650 font 'sans,10' noenhanced background '#ffffff'\n"
        << "set output " << GpString(svg_path) << "\n";
    }
    o << "set title " << GpString(title) << "\nset xlabel 'packet loss rate (%)'\n"
      << "set ylabel 'top-1 accuracy (%)'\nset grid\nset key outside right top\n"
      << "set xrange [-1:" << Num(xmax + 1) << "]\nset yrange [" << Num(lo) << ":" << Num(hi)
      << "]\nplot " << plot << "\nunset output\n";
  }
  return o.str();
}

Result<bool> WriteLossPlot(const LossReport& r, const std::string& stem) {
  return RunGnuplotScript(LossGnuplotScript(r, stem + ".png", stem + ".svg"), stem);
}

}  // namespace ftc::bench
