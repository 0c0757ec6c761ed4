// Times oneDNN convolutions and matmuls of ResNet-50 and a BERT-sized encoder
// layer, the way a framework calls them (format_tag::any, weights in the
// primitive's preferred layout, fused ReLU where the model has one), so that
// one oneDNN build can be compared with another on the same machine. Builds
// against oneDNN 2.x (Debian's 2.6) or 3.x (PyPI's onednn-devel): the
// primitive-descriptor constructors are the only API difference used here.
//
// usage: kernels ROUNDS   prints one line per case: name precision impl
// median_ms Driven by scripts/compare_onednn.py, which builds it against both
// libraries and interleaves their runs.
#include "oneapi/dnnl/dnnl.hpp"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <unordered_map>
#include <vector>

using namespace dnnl;
using dt = memory::data_type;
using tag = memory::format_tag;

namespace {

struct ConvCase {
  const char *name;
  int count; // how many times the layer occurs in ResNet-50
  memory::dim ic, oc, ih, k, stride;
};

// ResNet-50 at batch 1, 224x224 (torchvision's layout: the stride on the 3x3
// convolution).
const ConvCase kConvs[] = {
    {"stem7x7", 1, 3, 64, 224, 7, 2},    {"l1.a1x1", 1, 64, 64, 56, 1, 1},
    {"l1.b1x1", 2, 256, 64, 56, 1, 1},   {"l1.3x3", 3, 64, 64, 56, 3, 1},
    {"l1.c1x1", 3, 64, 256, 56, 1, 1},   {"l1.ds", 1, 64, 256, 56, 1, 1},
    {"l2.a1x1", 1, 256, 128, 56, 1, 1},  {"l2.3x3s2", 1, 128, 128, 56, 3, 2},
    {"l2.b1x1", 3, 512, 128, 28, 1, 1},  {"l2.3x3", 3, 128, 128, 28, 3, 1},
    {"l2.c1x1", 4, 128, 512, 28, 1, 1},  {"l2.ds", 1, 256, 512, 56, 1, 2},
    {"l3.a1x1", 1, 512, 256, 28, 1, 1},  {"l3.3x3s2", 1, 256, 256, 28, 3, 2},
    {"l3.b1x1", 5, 1024, 256, 14, 1, 1}, {"l3.3x3", 5, 256, 256, 14, 3, 1},
    {"l3.c1x1", 6, 256, 1024, 14, 1, 1}, {"l3.ds", 1, 512, 1024, 28, 1, 2},
    {"l4.a1x1", 1, 1024, 512, 14, 1, 1}, {"l4.3x3s2", 1, 512, 512, 14, 3, 2},
    {"l4.b1x1", 2, 2048, 512, 7, 1, 1},  {"l4.3x3", 2, 512, 512, 7, 3, 1},
    {"l4.c1x1", 3, 512, 2048, 7, 1, 1},  {"l4.ds", 1, 1024, 2048, 14, 1, 2},
};

struct MatmulCase {
  const char *name;
  memory::dim m, k, n;
};

// A BERT-base-sized encoder layer at batch 8 x 128 tokens.
const MatmulCase kMatmuls[] = {
    {"enc.qkv", 1024, 768, 2304},
    {"enc.out", 1024, 768, 768},
    {"enc.ffn1", 1024, 768, 3072},
    {"enc.ffn2", 1024, 3072, 768},
};

void fill(memory &m, dt type, std::mt19937 &rng) {
  size_t bytes = m.get_desc().get_size();
  auto *p = static_cast<unsigned char *>(m.get_data_handle());
  std::uniform_real_distribution<float> dist(-1.f, 1.f);
  if (type == dt::f32) {
    for (size_t i = 0; i < bytes / 4; ++i) {
      float v = dist(rng);
      std::memcpy(p + 4 * i, &v, 4);
    }
  } else { // bf16: the upper half of an f32
    for (size_t i = 0; i < bytes / 2; ++i) {
      float v = dist(rng);
      unsigned bits;
      std::memcpy(&bits, &v, 4);
      unsigned short h = static_cast<unsigned short>(bits >> 16);
      std::memcpy(p + 2 * i, &h, 2);
    }
  }
}

primitive_attr reluAttr() {
  post_ops ops;
#if DNNL_VERSION_MAJOR >= 3
  ops.append_eltwise(algorithm::eltwise_relu, 0.f, 0.f);
#else
  ops.append_eltwise(1.f, algorithm::eltwise_relu, 0.f, 0.f);
#endif
  primitive_attr attr;
  attr.set_post_ops(ops);
  return attr;
}

double medianMs(stream &s, primitive &p,
                const std::unordered_map<int, memory> &args, int rounds) {
  for (int i = 0; i < 3; ++i)
    p.execute(s, args);
  s.wait();
  std::vector<double> t;
  for (int i = 0; i < rounds; ++i) {
    auto t0 = std::chrono::steady_clock::now();
    p.execute(s, args);
    s.wait();
    t.push_back(std::chrono::duration<double, std::milli>(
                    std::chrono::steady_clock::now() - t0)
                    .count());
  }
  std::nth_element(t.begin(), t.begin() + t.size() / 2, t.end());
  return t[t.size() / 2];
}

void conv(engine &eng, stream &s, const ConvCase &c, dt type, int rounds,
          std::mt19937 &rng) {
  memory::dim pad = c.k / 2;
  memory::dim oh = (c.ih + 2 * pad - c.k) / c.stride + 1;
  memory::desc src({1, c.ic, c.ih, c.ih}, type, tag::any);
  memory::desc wei({c.oc, c.ic, c.k, c.k}, type, tag::any);
  memory::desc bias({c.oc}, dt::f32, tag::x);
  memory::desc dst({1, c.oc, oh, oh}, type, tag::any);
  memory::dims strides = {c.stride, c.stride}, pads = {pad, pad};
#if DNNL_VERSION_MAJOR >= 3
  convolution_forward::primitive_desc pd(
      eng, prop_kind::forward_inference, algorithm::convolution_direct, src,
      wei, bias, dst, strides, pads, pads, reluAttr());
#else
  convolution_forward::desc d(prop_kind::forward_inference,
                              algorithm::convolution_direct, src, wei, bias,
                              dst, strides, pads, pads);
  convolution_forward::primitive_desc pd(d, reluAttr(), eng);
#endif
  memory ms(pd.src_desc(), eng), mw(pd.weights_desc(), eng),
      mb(pd.bias_desc(), eng), md(pd.dst_desc(), eng);
  fill(ms, type, rng);
  fill(mw, type, rng);
  fill(mb, dt::f32, rng);
  convolution_forward p(pd);
  double ms_ = medianMs(s, p,
                        {{DNNL_ARG_SRC, ms},
                         {DNNL_ARG_WEIGHTS, mw},
                         {DNNL_ARG_BIAS, mb},
                         {DNNL_ARG_DST, md}},
                        rounds);
  std::printf("conv %s %d %s %s %.4f\n", c.name, c.count,
              type == dt::f32 ? "f32" : "bf16", pd.impl_info_str(), ms_);
}

void matmulCase(engine &eng, stream &s, const MatmulCase &c, dt type,
                int rounds, std::mt19937 &rng) {
  memory::desc a({c.m, c.k}, type, tag::ab);
  memory::desc b({c.k, c.n}, type, tag::any);
  memory::desc bias({1, c.n}, dt::f32, tag::ab);
  memory::desc out({c.m, c.n}, type, tag::ab);
#if DNNL_VERSION_MAJOR >= 3
  matmul::primitive_desc pd(eng, a, b, bias, out);
#else
  matmul::desc d(a, b, bias, out);
  matmul::primitive_desc pd(d, eng);
#endif
  memory ma(pd.src_desc(), eng), mw(pd.weights_desc(), eng),
      mb(pd.bias_desc(), eng), mo(pd.dst_desc(), eng);
  fill(ma, type, rng);
  fill(mw, type, rng);
  fill(mb, dt::f32, rng);
  matmul p(pd);
  double t = medianMs(s, p,
                      {{DNNL_ARG_SRC, ma},
                       {DNNL_ARG_WEIGHTS, mw},
                       {DNNL_ARG_BIAS, mb},
                       {DNNL_ARG_DST, mo}},
                      rounds);
  std::printf("matmul %s 1 %s %s %.4f\n", c.name,
              type == dt::f32 ? "f32" : "bf16", pd.impl_info_str(), t);
}

} // namespace

int main(int argc, char **argv) {
  int rounds = argc > 1 ? std::atoi(argv[1]) : 20;
  if (rounds < 1) {
    std::fprintf(stderr, "kernels: ROUNDS must be a positive integer\n");
    return 2;
  }
  const dnnl_version_t *v = dnnl_version();
  std::printf("version %d.%d.%d\n", v->major, v->minor, v->patch);
  engine eng(engine::kind::cpu, 0);
  stream s(eng);
  std::mt19937 rng(7);
  for (dt type : {dt::f32, dt::bf16}) {
    for (const ConvCase &c : kConvs) {
      try {
        conv(eng, s, c, type, rounds, rng);
      } catch (const dnnl::error &e) {
        std::printf("conv %s %d %s unsupported nan\n", c.name, c.count,
                    type == dt::f32 ? "f32" : "bf16");
      }
    }
    for (const MatmulCase &c : kMatmuls) {
      try {
        matmulCase(eng, s, c, type, rounds, rng);
      } catch (const dnnl::error &e) {
        std::printf("matmul %s 1 %s unsupported nan\n", c.name,
                    type == dt::f32 ? "f32" : "bf16");
      }
    }
  }
  return 0;
}
