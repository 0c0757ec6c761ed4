//===- AccelSim.cpp - Cycle-approximate simulator of an MME+TPC device
//-----===//

#include "lathe/runtime/AccelSim.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <iterator>
#include <map>
#include <sstream>

namespace lathe {
namespace accel {

const char *engineKindName(EngineKind kind) {
  switch (kind) {
  case EngineKind::MME:
    return "MME";
  case EngineKind::TPC:
    return "TPC";
  case EngineKind::DMA:
    return "DMA";
  case EngineKind::HBM:
    return "HBM";
  case EngineKind::Sparse:
    return "SPARSE";
  }
  return "?";
}

const char *opKindName(OpKind kind) {
  switch (kind) {
  case OpKind::MmeMatmul:
    return "mme_matmul";
  case OpKind::TpcMatmul:
    return "tpc_matmul";
  case OpKind::TpcElementwise:
    return "tpc_elementwise";
  case OpKind::TpcSoftmax:
    return "tpc_softmax";
  case OpKind::TpcLayerNorm:
    return "tpc_layernorm";
  case OpKind::TpcReduce:
    return "tpc_reduce";
  case OpKind::DmaLoad:
    return "dma_load";
  case OpKind::DmaStore:
    return "dma_store";
  case OpKind::SparseSpMM:
    return "sparse_spmm";
  }
  return "?";
}

EngineKind engineOf(OpKind kind) {
  switch (kind) {
  case OpKind::MmeMatmul:
    return EngineKind::MME;
  case OpKind::DmaLoad:
  case OpKind::DmaStore:
    return EngineKind::DMA;
  case OpKind::SparseSpMM:
    return EngineKind::Sparse;
  default:
    return EngineKind::TPC;
  }
}

static int64_t ceilDiv(int64_t a, int64_t b) {
  return b <= 0 ? a : (a + b - 1) / b;
}
static int64_t ceilD(double x) {
  return static_cast<int64_t>(std::ceil(x - 1e-9));
}

int64_t hbmCycles(const Device &device, int64_t bytes) {
  return ceilD(double(bytes) / device.hbmBytesPerCycle);
}

int64_t dmaBusyCycles(const Device &d, int64_t bytes) {
  return std::max(ceilD(double(bytes) / d.dmaBytesPerCycle),
                  hbmCycles(d, bytes));
}

int64_t tileCycles(const Device &d, const Op &op) {
  int64_t lanes = op.f32 ? d.tpcLanesF32() : 2 * d.tpcLanesF32();
  switch (op.kind) {
  case OpKind::MmeMatmul: {
    int64_t passes = ceilDiv(op.m, d.mmeRows) * ceilDiv(op.n, d.mmeCols);
    double rate = op.f32 ? d.mmeF32Rate : 1.0;
    return passes * ceilD(double(op.k) / rate) + d.mmeFillCycles;
  }
  case OpKind::TpcMatmul:
    return ceilD(double(op.m) * op.n * op.k / lanes) + d.tpcStartupCycles;
  case OpKind::TpcElementwise:
  case OpKind::TpcReduce:
    return ceilD(double(op.elements) * op.opsPerElement / lanes) +
           d.tpcStartupCycles;
  case OpKind::TpcSoftmax:
    return ceilD(double(op.rows) * op.cols * d.tpcSoftmaxOpsPerElement /
                 lanes) +
           d.tpcStartupCycles;
  case OpKind::TpcLayerNorm:
    return ceilD(double(op.rows) * op.cols * d.tpcLayerNormOpsPerElement /
                 lanes) +
           d.tpcStartupCycles;
  case OpKind::DmaLoad:
  case OpKind::DmaStore:
    return d.hbmLatencyCycles + dmaBusyCycles(d, op.bytes);
  case OpKind::SparseSpMM:
    if (d.sparseMacsPerCycle <= 0)
      return 0;
    return ceilD(double(op.nnz) * op.cols / d.sparseMacsPerCycle) +
           d.sparseStartupCycles;
  }
  return 0;
}

int64_t tileCycles(const Device &d, const Op &op, int64_t tile) {
  if (op.kind == OpKind::SparseSpMM && tile >= 0 &&
      tile < static_cast<int64_t>(op.tileNnz.size())) {
    if (d.sparseMacsPerCycle <= 0)
      return 0;
    return ceilD(double(op.tileNnz[tile]) * op.cols / d.sparseMacsPerCycle) +
           d.sparseStartupCycles;
  }
  if (op.kind == OpKind::TpcReduce && tile >= 0 &&
      tile < static_cast<int64_t>(op.tileElements.size()))
    return ceilD(double(op.tileElements[tile]) * op.opsPerElement /
                 d.tpcLanesF32()) +
           d.tpcStartupCycles;
  return tileCycles(d, op);
}

namespace {
/// Busy intervals of one engine: start -> (end, the engine kind whose work
/// it is).
struct Calendar {
  std::map<int64_t, std::pair<int64_t, int>> busy;

  /// The first time >= t at which the engine is free for `len` cycles.
  int64_t earliest(int64_t t, int64_t len) const {
    auto it = busy.upper_bound(t);
    if (it != busy.begin()) {
      auto prev = std::prev(it);
      if (prev->second.first > t)
        t = prev->second.first;
    }
    for (; it != busy.end() && it->first < t + len; ++it)
      if (it->second.first > t)
        t = it->second.first;
    return t;
  }
  /// Whose work the interval that ends at t is (-1: none).
  int ownerEndingAt(int64_t t) const {
    auto it = busy.lower_bound(t);
    if (it == busy.begin())
      return -1;
    auto prev = std::prev(it);
    return prev->second.first == t ? prev->second.second : -1;
  }
  void add(int64_t start, int64_t end, int owner) {
    if (end > start)
      busy[start] = {end, owner};
  }
};

struct TileState {
  std::vector<int64_t> end;        // per tile
  std::vector<unsigned char> root; // engine kind that decided its start
};
} // namespace

bool simulate(const Device &d, const Program &program, Result &result,
              std::string &error) {
  result = Result();
  const std::vector<Op> &ops = program.ops;
  size_t n = ops.size();
  // Timelines.
  std::vector<int> first(5, -1), count(5, 0);
  auto addEngines = [&](EngineKind kind, int64_t num) {
    first[int(kind)] = static_cast<int>(result.engines.size());
    count[int(kind)] = static_cast<int>(num);
    for (int64_t i = 0; i < num; ++i) {
      EngineTimeline t;
      t.kind = kind;
      t.name = std::string(engineKindName(kind)) +
               (kind == EngineKind::HBM || kind == EngineKind::Sparse
                    ? ""
                    : std::to_string(i));
      result.engines.push_back(t);
    }
  };
  addEngines(EngineKind::MME, std::max<int64_t>(d.mmeCount, 1));
  addEngines(EngineKind::TPC, std::max<int64_t>(d.tpcCount, 1));
  addEngines(EngineKind::DMA, std::max<int64_t>(d.dmaCount, 1));
  addEngines(EngineKind::HBM, 1);
  addEngines(EngineKind::Sparse, 1);
  std::vector<Calendar> calendars(result.engines.size());

  for (size_t i = 0; i < n; ++i) {
    for (int dep : ops[i].deps)
      if (dep < 0 || size_t(dep) >= i) {
        error = "op #" + std::to_string(i) + " (" + ops[i].name +
                ") depends on op #" + std::to_string(dep) +
                ", which does not come before it";
        return false;
      }
    if (ops[i].tiles < 1) {
      error =
          "op #" + std::to_string(i) + " (" + ops[i].name + ") has no tiles";
      return false;
    }
    for (const std::vector<int64_t> *perTile :
         {&ops[i].tileNnz, &ops[i].tileElements})
      if (!perTile->empty() &&
          static_cast<int64_t>(perTile->size()) != ops[i].tiles) {
        error = "op #" + std::to_string(i) + " (" + ops[i].name + ") has " +
                std::to_string(perTile->size()) + " per-tile sizes for " +
                std::to_string(ops[i].tiles) + " tiles";
        return false;
      }
    if (ops[i].kind == OpKind::SparseSpMM && d.sparseMacsPerCycle <= 0) {
      error = "op #" + std::to_string(i) + " needs a sparse engine, but '" +
              d.name + "' has none (sparse.macs_per_cycle)";
      return false;
    }
  }
  // Members of each group, in program order; the group's compute op.
  std::map<int, std::vector<int>> members;
  std::map<int, int> computeOf;
  for (size_t i = 0; i < n; ++i)
    if (ops[i].group >= 0) {
      members[ops[i].group].push_back(int(i));
      if (engineOf(ops[i].kind) != EngineKind::DMA)
        computeOf[ops[i].group] = int(i);
    }
  for (auto &[g, list] : members) {
    if (!computeOf.count(g)) {
      error = "group " + std::to_string(g) + " has no compute op";
      return false;
    }
    for (int i : list)
      if (ops[i].tiles != ops[computeOf[g]].tiles) {
        error = "op #" + std::to_string(i) + " (" + ops[i].name +
                ") has a different tile count than its group's compute op";
        return false;
      }
  }

  std::vector<TileState> state(n);
  result.opStart.assign(n, 0);
  result.opEnd.assign(n, 0);
  std::vector<bool> done(n, false);

  auto schedule = [&](int i, int64_t t) {
    const Op &op = ops[i];
    EngineKind kind = engineOf(op.kind);
    // Ready time and what decided it.
    int64_t ready = 0;
    int root = -1;
    // What an op waits for: the engine of the producing op; for a
    // transfer of another group, the engine of that group's compute op (its
    // transfers are part of its work); for a transfer of the op's own group,
    // whatever held that transfer up.
    auto need = [&](int64_t time, int depOp, int64_t depTile) {
      if (time < ready)
        return;
      ready = time;
      const Op &dep = ops[depOp];
      EngineKind depKind = engineOf(dep.kind);
      if (depKind != EngineKind::DMA)
        root = int(depKind);
      else if (dep.group >= 0 && dep.group != op.group)
        root = int(engineOf(ops[computeOf[dep.group]].kind));
      else
        root = state[depOp].root[depTile];
    };
    for (int dep : op.deps)
      if (ops[dep].group < 0 || ops[dep].group != op.group)
        need(result.opEnd[dep], dep, ops[dep].tiles - 1);
    if (op.group >= 0) {
      int c = computeOf[op.group];
      for (int j : members[op.group]) {
        if (j == i)
          continue;
        // Each engine of the compute op's kind has `buffers` buffers.
        int64_t slots = op.buffers * count[int(engineOf(ops[c].kind))];
        if (op.kind == OpKind::DmaLoad && j == c && t >= slots)
          need(state[c].end[t - slots], c, t - slots);
        if (i == c && ops[j].kind == OpKind::DmaLoad)
          need(state[j].end[t], j, t);
        if (op.kind == OpKind::DmaStore && j == c)
          need(state[c].end[t], c, t);
      }
    }
    // Every engine keeps a calendar of busy intervals: a tile takes the
    // earliest gap at or after its ready time on any engine of its kind (a
    // later-issued tile may use a gap an earlier one left). A DMA tile also
    // needs HBM for its transfer at the same time; HBM serves one transfer at
    // a time at its full bandwidth.
    int hbm = first[int(EngineKind::HBM)];
    bool dma = kind == EngineKind::DMA;
    int64_t dur = dma ? dmaBusyCycles(d, op.bytes) : tileCycles(d, op, t);
    int64_t hbmBusy = dma ? hbmCycles(d, op.bytes) : 0;
    int e = -1;
    int64_t start = 0;
    for (int k = first[int(kind)]; k < first[int(kind)] + count[int(kind)];
         ++k) {
      int64_t at = ready;
      for (;;) {
        at = calendars[k].earliest(at, dur);
        if (!dma || hbmBusy == 0)
          break;
        int64_t h = calendars[hbm].earliest(at, hbmBusy);
        if (h == at)
          break;
        at = h;
      }
      if (e < 0 || at < start) {
        e = k;
        start = at;
      }
    }
    // Why the tile did not start earlier: its input (root), or, for a
    // transfer held up by HBM, the work whose transfer held it.
    int cause = root >= 0 ? root : int(kind);
    if (dma && start > ready) {
      int holder = calendars[hbm].ownerEndingAt(start);
      cause = holder >= 0 ? holder : int(EngineKind::HBM);
    }
    int64_t end = start + (dma ? tileCycles(d, op) : dur);
    int owner =
        op.group >= 0 ? int(engineOf(ops[computeOf[op.group]].kind)) : cause;
    calendars[e].add(start, start + dur, owner);
    result.engines[e].slices.push_back({i, t, start, start + dur, cause});
    result.engines[e].busyCycles += dur;
    if (dma) {
      calendars[hbm].add(start, start + hbmBusy, owner);
      result.engines[hbm].slices.push_back(
          {i, t, start, start + hbmBusy, cause});
      result.engines[hbm].busyCycles += hbmBusy;
      (op.kind == OpKind::DmaLoad ? result.bytesLoaded : result.bytesStored) +=
          op.bytes;
    }
    state[i].end[t] = end;
    state[i].root[t] = static_cast<unsigned char>(cause);
    if (t == 0)
      result.opStart[i] = start;
    result.opEnd[i] = std::max(result.opEnd[i], end);
    result.totalCycles = std::max(result.totalCycles, end);
  };

  for (size_t i = 0; i < n; ++i) {
    if (done[i])
      continue;
    std::vector<int> list =
        ops[i].group >= 0 ? members[ops[i].group] : std::vector<int>{int(i)};
    for (int j : list) {
      state[j].end.assign(ops[j].tiles, 0);
      state[j].root.assign(ops[j].tiles, 0);
      done[j] = true;
    }
    int64_t tiles = ops[list.front()].tiles;
    std::vector<int> loads, rest;
    int compute = -1;
    for (int j : list) {
      (ops[j].kind == OpKind::DmaLoad ? loads : rest).push_back(j);
      if (engineOf(ops[j].kind) != EngineKind::DMA)
        compute = j;
    }
    // Loads run ahead of the compute as far as the buffers allow: with B
    // buffers on each of E engines, the load of tile t + E*B - 1 is issued
    // before the compute of tile t (B = 1: no overlap on an engine).
    int64_t window = 1;
    if (!loads.empty() && compute >= 0)
      window =
          ops[loads.front()].buffers * count[int(engineOf(ops[compute].kind))];
    int64_t nextLoad = 0;
    for (int64_t t = 0; t < tiles; ++t) {
      for (; nextLoad < tiles && nextLoad <= t + window - 1; ++nextLoad)
        for (int j : loads)
          schedule(j, nextLoad);
      for (int j : rest)
        schedule(j, t);
    }
  }
  // Idle time before each slice, charged to what that slice waited for.
  for (EngineTimeline &engine : result.engines) {
    std::sort(engine.slices.begin(), engine.slices.end(),
              [](const Slice &a, const Slice &b) { return a.start < b.start; });
    int64_t freeSince = 0;
    for (const Slice &s : engine.slices) {
      if (s.start > freeSince && s.cause >= 0 && s.cause != int(engine.kind))
        engine.waitCycles[s.cause] += s.start - freeSince;
      freeSince = std::max(freeSince, s.end);
    }
  }
  // Time no matrix engine is busy while some vector core is: the MMEs idle
  // while vector-core work runs (the two busy unions compared).
  auto busyUnion = [&](EngineKind kind) {
    std::vector<std::pair<int64_t, int64_t>> spans;
    for (const EngineTimeline &engine : result.engines)
      if (engine.kind == kind)
        for (const Slice &s : engine.slices)
          if (s.end > s.start)
            spans.push_back({s.start, s.end});
    std::sort(spans.begin(), spans.end());
    std::vector<std::pair<int64_t, int64_t>> merged;
    for (auto span : spans) {
      if (!merged.empty() && span.first <= merged.back().second)
        merged.back().second = std::max(merged.back().second, span.second);
      else
        merged.push_back(span);
    }
    return merged;
  };
  auto mmeBusy = busyUnion(EngineKind::MME);
  auto tpcBusy = busyUnion(EngineKind::TPC);
  int64_t tpcOnly = 0;
  size_t m = 0;
  for (auto [a, b] : tpcBusy) {
    int64_t covered = 0;
    while (m < mmeBusy.size() && mmeBusy[m].second <= a)
      ++m;
    for (size_t k = m; k < mmeBusy.size() && mmeBusy[k].first < b; ++k)
      covered += std::min(b, mmeBusy[k].second) - std::max(a, mmeBusy[k].first);
    tpcOnly += (b - a) - covered;
  }
  if (result.totalCycles > 0)
    result.mmeIdleWhileTpcBusy = double(tpcOnly) / double(result.totalCycles);
  result.timeUs = double(result.totalCycles) / (d.clockGHz * 1e3);
  double share = 0;
  int mmes = count[int(EngineKind::MME)];
  for (int k = first[int(EngineKind::MME)];
       k < first[int(EngineKind::MME)] + mmes; ++k)
    share += double(result.engines[k].waitCycles[int(EngineKind::TPC)]);
  if (result.totalCycles > 0 && mmes > 0)
    result.mmeWaitShareOnTpc = share / mmes / double(result.totalCycles);
  return true;
}

double busyFraction(const Result &result, const EngineTimeline &engine) {
  return result.totalCycles ? double(engine.busyCycles) / result.totalCycles
                            : 0.0;
}

std::string chromeTrace(const Device &d, const Program &program,
                        const Result &result) {
  std::ostringstream os;
  os << "{\"displayTimeUnit\":\"ns\",\"traceEvents\":[";
  bool firstEvent = true;
  auto sep = [&] {
    if (!firstEvent)
      os << ",\n";
    firstEvent = false;
  };
  double usPerCycle = 1.0 / (d.clockGHz * 1e3);
  for (size_t e = 0; e < result.engines.size(); ++e) {
    const EngineTimeline &t = result.engines[e];
    if (t.slices.empty())
      continue;
    sep();
    os << "{\"name\":\"thread_name\",\"ph\":\"M\",\"pid\":0,\"tid\":" << e
       << ",\"args\":{\"name\":\"" << t.name << "\"}}";
    for (const Slice &s : t.slices) {
      const Op &op = program.ops[s.op];
      sep();
      char buf[64];
      os << "{\"name\":\"" << opKindName(op.kind) << "\",\"cat\":\""
         << engineKindName(t.kind) << "\",\"ph\":\"X\",\"pid\":0,\"tid\":" << e;
      std::snprintf(buf, sizeof buf, ",\"ts\":%.6f,\"dur\":%.6f",
                    s.start * usPerCycle, (s.end - s.start) * usPerCycle);
      os << buf << ",\"args\":{\"op\":\"";
      for (char c : op.name)
        if (c != '"' && c != '\\')
          os << c;
      os << "\",\"tile\":" << s.tile << ",\"cycles\":" << (s.end - s.start)
         << "}}";
    }
  }
  os << "]}\n";
  return os.str();
}

} // namespace accel
} // namespace lathe
