#include "ui/monitor/pc_target.h"

#include "ui/monitor/monitor_server.h"

namespace vireo {

std::vector<MonitorCpuInfo> PcMonitorTarget::cpus() {
  const SmpConfig& smp = machine_.config().smp;
  std::vector<MonitorCpuInfo> list;
  // CPU index to topology as QEMU's x86 numbering: threads innermost.
  unsigned threads = smp.threads == 0 ? 1 : smp.threads;
  unsigned cores = smp.cores == 0 ? 1 : smp.cores;
  unsigned dies = smp.dies == 0 ? 1 : smp.dies;
  for (unsigned i = 0; i < machine_.vcpu_count(); ++i) {
    list.push_back({i, machine_.vcpu_thread_id(i), i / (threads * cores * dies), (i / threads) % cores, i % threads});
  }
  return list;
}

std::optional<std::vector<X86CpuState>> PcMonitorTarget::cpu_states() {
  std::vector<X86CpuState> states;
  // The accessor's accelerator may be replaced by a reset; inspect() runs
  // on the main thread, where that happens, with the vCPUs stopped.
  bool answered = machine_.inspect([&] {
    for (auto& vcpu : machine_.vcpus()) states.push_back(vcpu->state());
  });
  if (!answered) return std::nullopt;
  return states;
}

std::vector<MonitorChardevInfo> PcMonitorTarget::chardevs() {
  std::vector<MonitorChardevInfo> list;
  for (const auto& [label, spec] : machine_.chardevs()) {
    std::string filename = spec == "stdio" || spec == "null" ? spec : spec;
    list.push_back({label, filename, true});
  }
  if (server_ != nullptr) {
    for (MonitorChardevInfo& info : server_->chardevs()) list.push_back(std::move(info));
  }
  return list;
}

}  // namespace vireo
