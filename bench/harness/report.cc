#include "bench/harness/report.h"

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <map>
#include <sstream>

#include "base/json_string.h"
#include "base/status_macros.h"

namespace ftc::bench {
namespace {

std::string Fmt(const char* fmt, double v) {
  char buf[64];
  std::snprintf(buf, sizeof(buf), fmt, v);
  return buf;
}

// A number for CSV/JSON: `digits` significant digits; `empty` when not measured (negative).
std::string Num(double v, int digits = 6, const char* empty = "") {
  if (v < 0 || !std::isfinite(v)) return empty;
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%.*g", digits, v);
  return buf;
}

std::string CsvField(const std::string& s) {
  if (s.find_first_of(",\"\n") == std::string::npos) return s;
  std::string out = "\"";
  for (char c : s) {
    if (c == '"') out += '"';
    out += c;
  }
  return out + "\"";
}

std::string Json(const std::string& s) { return JsonString(s); }

std::string JsonNum(double v, int digits = 6) { return Num(v, digits, "null"); }

}  // namespace

Status WriteFileAtomically(const std::string& path, const std::string& text) {
  const std::string tmp = path + ".tmp";
  {
    std::ofstream f(tmp, std::ios::binary | std::ios::trunc);
    if (!f) return Status(StatusCode::kIoError, tmp + ": cannot create");
    f << text;
    if (!f.flush()) return Status(StatusCode::kIoError, tmp + ": write failed");
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    std::remove(tmp.c_str());
    return Status(StatusCode::kIoError, path + ": cannot rename into place");
  }
  return Status::Ok();
}

std::string FormatCsv(const BenchReport& r) {
  std::ostringstream o;
  o << "codec,setting,samples,top1,top1_drop,top1_stderr,bytes_per_sample,bits_per_element,"
       "ratio_vs_f32,enc_us,dec_us,series,anchor,feature_rmse,exit_threshold,device_share,"
       "server_us_b1,server_us_b64\n";
  for (const SettingMetrics& m : r.rows) {
    o << CsvField(m.spec.codec) << ',' << CsvField(m.spec.setting) << ',' << m.samples << ','
      << Num(m.top1) << ',' << Fmt("%.4g", m.top1_drop) << ',' << Num(m.top1_stderr, 4) << ','
      << Num(m.bytes_per_sample, 8) << ',' << Num(m.bits_per_element) << ',' << Num(m.ratio_vs_f32)
      << ',' << Num(m.enc_us, 4) << ',' << Num(m.dec_us, 4) << ',' << CsvField(m.spec.series) << ','
      << (m.spec.anchor ? 1 : 0) << ',' << Num(m.rmse, 4) << ',' << Num(m.spec.exit_threshold)
      << ',' << Num(m.device_share) << ',' << Num(m.server_us_b1, 4) << ','
      << Num(m.server_us_b64, 4) << '\n';
  }
  return o.str();
}

std::string FormatJson(const BenchReport& r) {
  std::ostringstream o;
  o << "{\n  \"model\": " << Json(r.model) << ",\n  \"head\": " << Json(r.head_path)
    << ",\n  \"tail\": " << Json(r.tail_path) << ",\n  \"data\": " << Json(r.data)
    << ",\n  \"command\": " << Json(r.command) << ",\n  \"samples\": " << r.samples
    << ",\n  \"feature_shape\": [";
  for (size_t i = 0; i < r.feature_shape.size(); ++i) {
    o << (i ? ", " : "") << r.feature_shape[i];
  }
  o << "],\n  \"elements_per_sample\": " << r.elements_per_sample
    << ",\n  \"reference_top1\": " << JsonNum(r.reference_top1)
    << ",\n  \"torch_threads\": " << r.torch_threads
    << ",\n  \"seconds\": " << JsonNum(r.seconds, 4) << ",\n  \"rows\": [\n";
  for (size_t i = 0; i < r.rows.size(); ++i) {
    const SettingMetrics& m = r.rows[i];
    o << "    {\"codec\": " << Json(m.spec.codec) << ", \"series\": " << Json(m.spec.series)
      << ", \"setting\": " << Json(m.spec.setting)
      << ", \"anchor\": " << (m.spec.anchor ? "true" : "false")
      << ", \"cloud_only\": " << (m.spec.cloud_only ? "true" : "false")
      << ", \"samples\": " << m.samples << ", \"top1\": " << JsonNum(m.top1)
      << ", \"top1_drop\": " << Fmt("%.4g", m.top1_drop)
      << ", \"top1_stderr\": " << JsonNum(m.top1_stderr, 4)
      << ", \"bytes_per_sample\": " << JsonNum(m.bytes_per_sample, 8)
      << ", \"bits_per_element\": " << JsonNum(m.bits_per_element)
      << ", \"ratio_vs_f32\": " << JsonNum(m.ratio_vs_f32)
      << ", \"enc_us\": " << JsonNum(m.enc_us, 4) << ", \"dec_us\": " << JsonNum(m.dec_us, 4)
      << ", \"feature_rmse\": " << JsonNum(m.rmse, 4)
      << ", \"exit_threshold\": " << JsonNum(m.spec.exit_threshold)
      << ", \"device_share\": " << JsonNum(m.device_share)
      << ", \"server_us_b1\": " << JsonNum(m.server_us_b1, 4)
      << ", \"server_us_b64\": " << JsonNum(m.server_us_b64, 4) << "}"
      << (i + 1 < r.rows.size() ? "," : "") << "\n";
  }
  o << "  ],\n  \"summary\": [\n";
  bool first = true;
  for (double drop : {0.5, 1.0}) {
    for (const BestSetting& b : BestWithin(r.rows, drop)) {
      o << (first ? "" : ",\n") << "    {\"codec\": " << Json(b.codec) << ", \"max_drop\": " << drop
        << ", \"found\": " << (b.found ? "true" : "false");
      if (b.found) {
        o << ", \"series\": " << Json(b.metrics.spec.series)
          << ", \"setting\": " << Json(b.metrics.spec.setting)
          << ", \"bits_per_element\": " << JsonNum(b.metrics.bits_per_element)
          << ", \"bytes_per_sample\": " << JsonNum(b.metrics.bytes_per_sample, 8)
          << ", \"top1\": " << JsonNum(b.metrics.top1);
      }
      o << "}";
      first = false;
    }
  }
  o << "\n  ],\n  \"notes\": [";
  for (size_t i = 0; i < r.notes.size(); ++i) o << (i ? ", " : "") << Json(r.notes[i]);
  o << "]\n}\n";
  return o.str();
}

std::string FormatTable(const BenchReport& r) {
  std::ostringstream o;
  char line[256];
  // The early-exit and server-time columns only when some row has them.
  bool exits = false, server = false;
  for (const SettingMetrics& m : r.rows) {
    exits = exits || m.device_share >= 0;
    server = server || m.server_us_b1 >= 0 || m.server_us_b64 >= 0;
  }
  std::snprintf(line, sizeof(line), "%-34s %8s %7s %6s %11s %9s %8s %9s %9s", "setting", "top-1 %",
                "drop", "+-se", "bytes/smpl", "bits/elem", "x vs f32", "enc us", "dec us");
  o << line;
  if (exits) o << "  device %";
  if (server) o << "  srv us b1  srv us b64";
  o << '\n';
  for (const SettingMetrics& m : r.rows) {
    std::snprintf(line, sizeof(line), "%-34s %8.2f %7.2f %6.2f %11.1f %9.4g %8.4g %9s %9s",
                  SettingLabel(m.spec).c_str(), m.top1, m.top1_drop, m.top1_stderr,
                  m.bytes_per_sample, m.bits_per_element, m.ratio_vs_f32,
                  Num(m.enc_us, 4, "-").c_str(), Num(m.dec_us, 4, "-").c_str());
    o << line;
    if (exits) {
      std::snprintf(line, sizeof(line), " %9s",
                    m.device_share >= 0 ? Fmt("%.1f", m.device_share).c_str() : "-");
      o << line;
    }
    if (server) {
      std::snprintf(line, sizeof(line), " %10s %11s", Num(m.server_us_b1, 4, "-").c_str(),
                    Num(m.server_us_b64, 4, "-").c_str());
      o << line;
    }
    o << '\n';
  }
  return o.str();
}

std::vector<std::string> SummaryLines(const BenchReport& r) {
  std::vector<std::string> out;
  const std::vector<BestSetting> half = BestWithin(r.rows, 0.5);
  const std::vector<BestSetting> one = BestWithin(r.rows, 1.0);
  auto describe = [](const BestSetting& b) {
    if (!b.found) return std::string("none");
    char buf[160];
    std::snprintf(buf, sizeof(buf), "%.3g bits/element (%s, %.0f bytes/sample, top-1 %.2f%%)",
                  b.metrics.bits_per_element, SettingLabel(b.metrics.spec).c_str(),
                  b.metrics.bytes_per_sample, b.metrics.top1);
    return std::string(buf);
  };
  char head[160];
  std::snprintf(head, sizeof(head),
                "uncompressed top-1 %.2f%% +- %.2f on %lld samples; fewest bits per element "
                "within 0.5 / 1.0 points:",
                r.reference_top1,
                Top1StdErr(std::llround(r.reference_top1 * r.samples / 100.0), r.samples),
                static_cast<long long>(r.samples));
  out.push_back(head);
  for (size_t i = 0; i < half.size(); ++i) {
    out.push_back("  " + half[i].codec + ": within 0.5: " + describe(half[i]) +
                  "; within 1.0: " + describe(one[i]));
  }
  for (const SettingMetrics& m : r.rows) {
    if (!m.spec.cloud_only) continue;
    char buf[200];
    std::snprintf(buf, sizeof(buf),
                  "  cloud-only %s: %.0f bytes/sample (top-1 %.2f%%) — a feature code must be "
                  "below %.3g bits/element to be smaller",
                  m.spec.setting.c_str(), m.bytes_per_sample, m.top1, m.bits_per_element);
    out.push_back(buf);
  }
  return out;
}

namespace {

// What a rate plot shows: a curve per series (in order of first appearance) and the anchors as
// single labelled points, with the extent of all of them.
struct PlotPoints {
  std::vector<std::string> series;
  std::map<std::string, std::vector<const SettingMetrics*>> curves;  // by series
  std::vector<const SettingMetrics*> anchors;
  double ymin = 100, ymax = 0, xmin = 1e300, xmax = 0;
};

PlotPoints CollectPlotPoints(const BenchReport& r) {
  PlotPoints p;
  for (const SettingMetrics& m : r.rows) {
    if (m.samples == 0 || m.bytes_per_sample <= 0) continue;
    if (m.spec.anchor || m.spec.cloud_only) {
      p.anchors.push_back(&m);
    } else {
      if (!p.curves.count(m.spec.series)) p.series.push_back(m.spec.series);
      p.curves[m.spec.series].push_back(&m);
    }
    p.ymin = std::min(p.ymin, m.top1);
    p.ymax = std::max(p.ymax, m.top1);
    p.xmin = std::min(p.xmin, m.bytes_per_sample);
    p.xmax = std::max(p.xmax, m.bytes_per_sample);
  }
  return p;
}

// The data blocks: $sI per series (its points by rate), $aI per anchor.
void WritePlotData(PlotPoints* p, std::ostream& o) {
  for (size_t i = 0; i < p->series.size(); ++i) {
    std::vector<const SettingMetrics*>& curve = p->curves[p->series[i]];
    std::sort(curve.begin(), curve.end(), [](const SettingMetrics* a, const SettingMetrics* b) {
      return a->bytes_per_sample < b->bytes_per_sample;
    });
    o << "$s" << i << " << EOD\n";
    for (const SettingMetrics* m : curve) {
      o << Num(m->bytes_per_sample, 8) << ' ' << Num(m->top1) << ' ' << m->spec.setting << '\n';
    }
    o << "EOD\n";
  }
  for (size_t i = 0; i < p->anchors.size(); ++i) {
    o << "$a" << i << " << EOD\n"
      << Num(p->anchors[i]->bytes_per_sample, 8) << ' ' << Num(p->anchors[i]->top1) << "\nEOD\n";
  }
}

// The plot command: the reference accuracy (and 1 point below it) as lines, the curves, then
// the anchors.
std::string PlotCommand(const PlotPoints& p, double ref) {
  std::ostringstream plot;
  plot << "plot " << Fmt("%.6g", ref) << " with lines dt 2 lc rgb '#888888' title "
       << GpString("uncompressed (" + Fmt("%.2f", ref) + "%)");
  // The line 1 point below the reference, unless that is below 0% (Num() writes nothing for a
  // negative value, which left "plot 0.5 ..., with lines" for a top-1 under 1%).
  if (ref >= 1.0) {
    plot << ", " << Fmt("%.6g", ref - 1.0)
         << " with lines dt 3 lc rgb '#bbbbbb' title '1 point below'";
  }
  static const char* const kColors[] = {"#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
                                        "#8c564b", "#e377c2", "#17becf", "#bcbd22", "#7f7f7f"};
  for (size_t i = 0; i < p.series.size(); ++i) {
    plot << ", \\\n     $s" << i << " using 1:2 with linespoints lw 2 lc rgb '" << kColors[i % 10]
         << "' pt " << (4 + 2 * (i % 6)) << " ps 1.1 title " << GpString(p.series[i]);
  }
  static const int kAnchorPoints[] = {7, 9, 11, 13, 5, 3};
  for (size_t i = 0; i < p.anchors.size(); ++i) {
    const SettingMetrics& m = *p.anchors[i];
    const std::string name = m.spec.cloud_only ? "cloud-only: input as " + m.spec.setting
                                               : m.spec.codec + " " + m.spec.setting + " (anchor)";
    plot << ", \\\n     $a" << i << " using 1:2 with points pt " << kAnchorPoints[i % 6]
         << " ps 2 lc rgb '#000000' title " << GpString(name);
  }
  return plot.str();
}

}  // namespace

std::string GnuplotScript(const BenchReport& r, const std::string& png_path,
                          const std::string& svg_path) {
  std::ostringstream o;
  PlotPoints p = CollectPlotPoints(r);
  double xmin = p.xmin, xmax = p.xmax, ymin = p.ymin, ymax = p.ymax;
  if (xmax <= 0) xmin = 1, xmax = 10;
  xmin /= 1.5;
  xmax *= 1.5;
  // Top-1 is a percentage: anything outside [0, 100] (or not a number) is clamped, so that the
  // script stays valid for any accuracy, including 0.
  auto clamp_pct = [](double v) { return std::isfinite(v) ? std::clamp(v, 0.0, 100.0) : 0.0; };
  const double ref = clamp_pct(r.reference_top1);
  if (ymin > ymax) ymin = ymax = ref;  // no point to plot
  ymin = clamp_pct(ymin);
  ymax = clamp_pct(ymax);
  // Keep the interesting region readable: points far below the reference fall off the bottom.
  const double floor_y = std::max(0.0, ref - 5);
  const double lo = std::max(floor_y, std::floor(ymin - 1));
  const double hi = std::max(lo + 1, std::min(100.0, std::ceil(std::max(ymax, ref) + 1)));
  const bool clipped = ymin < lo;

  WritePlotData(&p, o);
  std::ostringstream title;
  title << "Rate versus accuracy: " << r.model << ", " << r.samples << " samples, features "
        << ShapeToString(r.feature_shape);
  if (clipped) title << " (points below " << lo << "% not shown)";
  const double e = static_cast<double>(std::max<int64_t>(1, r.elements_per_sample));
  o << "set encoding utf8\n"
    << "set title " << GpString(title.str())
    << " noenhanced\n"
    // The top axis shows the same rate in bits per feature element (gnuplot 5.4 cannot link a
    // log axis, so both ranges are set).
    << "set logscale x\nset logscale x2\n"
    << "set xrange [" << Num(xmin) << ":" << Num(xmax) << "]\n"
    << "set x2range [" << Num(xmin * 8 / e) << ":" << Num(xmax * 8 / e) << "]\n"
    << "set xlabel 'bytes per sample (log scale)'\n"
    << "set x2label 'bits per feature element'\n"
    << "set xtics nomirror\nset x2tics\nset mxtics 10\n"
    << "set ylabel 'top-1 accuracy (%)'\n"
    << "set yrange [" << lo << ":" << hi << "]\n"
    << "set grid xtics mxtics ytics lc rgb '#dddddd'\n"
    << "set key outside right center noenhanced box\n"
    << "set tmargin 6\nset mx2tics 10\n";
  const std::string plot_cmd = PlotCommand(p, ref);
  o << "set terminal pngcairo size 1200,760 font 'sans,11'\n"
    << "set output " << GpString(png_path) << "\n"
    << plot_cmd << "\n"
    << "set terminal svg size 1200,760 font 'sans,11' background '#ffffff'\n"
    << "set output " << GpString(svg_path) << "\n"
    << plot_cmd << "\n"
    << "unset output\n";
  return o.str();
}

// A gnuplot double-quoted string: backslash escapes, so any path survives (gnuplot's
// single-quoted strings cannot hold two quotes in a row).
std::string GpString(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out += c;
  }
  return out + "\"";
}

// Runs gnuplot on the script without a shell: the paths are argv entries, never parsed, so any
// character in --out is safe. stderr goes to STEM.gnuplot.log (removed on success).
Result<bool> RunGnuplotScript(const std::string& script, const std::string& stem) {
  const std::string gp = stem + ".gp";
  FTC_RETURN_IF_ERROR(WriteFileAtomically(gp, script));
  const std::string log = stem + ".gnuplot.log";
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, "/dev/null", O_WRONLY, 0);
  posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, log.c_str(),
                                   O_WRONLY | O_CREAT | O_TRUNC, 0644);
  std::string program = "gnuplot";
  std::vector<char*> argv = {program.data(), const_cast<char*>(gp.c_str()), nullptr};
  pid_t pid = 0;
  const int rc = posix_spawnp(&pid, "gnuplot", &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (rc == ENOENT) {
    std::remove(log.c_str());
    return false;  // gnuplot is not installed
  }
  if (rc != 0) {
    return Status(StatusCode::kIoError, "cannot run gnuplot: " + std::string(std::strerror(rc)));
  }
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    return Status(StatusCode::kIoError, "gnuplot failed on " + gp + " (see " + log + ")");
  }
  std::remove(log.c_str());
  return true;
}

Result<bool> WritePlot(const BenchReport& r, const std::string& stem) {
  return RunGnuplotScript(GnuplotScript(r, stem + ".png", stem + ".svg"), stem);
}

}  // namespace ftc::bench
