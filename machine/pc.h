// The "pc" machine: an i440FX-era PC. Owns guest memory, the two buses,
// the devices and the vCPUs, and runs them until the guest or the user
// ends the session.
//
// Threads: the thread that calls run() is the machine's main thread; it
// creates one thread per vCPU and is the only one that starts, stops or
// resets them. Other threads (the monitor) ask through control(): pause,
// resume, reset, or inspect() to run code there with the vCPUs stopped.
// While paused the vCPU threads are gone and virtual time stands still. Devices are reached from vCPU threads through the buses,
// and from the timer thread (timers_, started by run()) for their timers.
//
// Interrupts: under kvm the in-kernel irqchip (PIC, IOAPIC, LAPICs, PIT)
// takes set_irq(); otherwise the machine builds software ones and routes
// set_irq() to them. The RTC and its CMOS RAM are the machine's either way.
#pragma once

#include <atomic>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <thread>
#include <vector>

#include "accel/accel.h"
#include "block/image_chain.h"
#include "hw/core/guest_memory.h"
#include "hw/core/io_bus.h"
#include "hw/core/irq.h"
#include "hw/core/run_control.h"
#include "hw/core/timer.h"
#include "machine/e820.h"
#include "machine/linux_boot.h"
#include "system/vm_config.h"
#include "ui/chardev.h"

namespace vireo {

class AcpiPm;
class Uart16550;
class I8042;
class SystemControlPortA;
class SystemControlPortB;
class I8259Pair;
class Ioapic;
class LocalApic;
class ApicBus;
class I8254;
class Mc146818;
class PciBus;
class PciConfigPorts;
class PciDevice;
class Piix3;
class VirtioDevice;
class VirtioBlk;
class VirtioNet;
class NetBackend;
class Hpet;
class FwCfg;

class PcMachine {
 public:
  // Reads the boot files, builds memory and devices, and checks the
  // accelerator can be created. Throws Error naming the culprit.
  explicit PcMachine(const VmConfig& config);
  ~PcMachine();

  // Runs the guest until it exits; returns the process exit status.
  int run();

  RunControl& control() { return control_; }
  GuestMemory& memory() { return memory_; }
  IoBus& pio() { return pio_; }
  IoBus& mmio() { return mmio_; }
  const PcMemoryLayout& layout() const { return layout_; }
  std::string_view accelerator_name() const { return accelerator_->name(); }

  // The ACPI power button (system_powerdown): the guest decides what to do.
  // Emits POWERDOWN. Any thread.
  void press_power_button();

  // From a thread other than the main one, while run() runs: runs `fn` on
  // the main thread with every vCPU stopped (restarting them afterwards if
  // they ran). False if the machine did not answer within the timeout.
  bool inspect(const std::function<void()>& fn);

  // For the monitor. vcpus() may only be used inside inspect(), or while
  // the machine is paused from the main thread's point of view.
  const VmConfig& config() const { return config_; }
  std::vector<std::unique_ptr<Vcpu>>& vcpus() { return vcpus_; }
  unsigned vcpu_count() const { return config_.smp.cpus; }
  // The host thread id (gettid) of vCPU `index`'s thread (the main
  // thread's before run() created them).
  int vcpu_thread_id(unsigned index) const;
  const std::string& cpu_model_name() const { return config_.cpu_model; }
  // The stdio backend COM1 shares with a monitor ("mon:stdio"), or null.
  CharBackend* multiplexed_stdio() { return multiplexed_stdio_; }
  // The character devices: their label (serial0...) and spec.
  std::vector<std::pair<std::string, std::string>> chardevs() const;
  // The PCI bus (any thread: its device table is fixed after construction).
  const PciBus& pci_bus() const { return *pci_bus_; }
  // The disks, in creation order, with the names QEMU gives them.
  struct Disk {
    std::string device;   // the -drive id, or "virtio<N>" for an if=virtio drive without one
    std::string qdev;     // QOM path of the virtio backend
    DriveSpec drive;
    std::string format;   // as opened: "raw" or "qcow2"
    const VirtioBlk* model;
    const PciDevice* function;  // its virtio-blk-pci function
    std::vector<BlockImageFacts> chain;  // the image and its backing files, top first
    int64_t bootindex = -1;  // -device ...,bootindex=; negative: not in the boot order
  };
  const std::vector<Disk>& disks() const { return disks_; }
  // The NICs (machine/pc_net.cpp), in creation order, and the back ends.
  struct Nic {
    std::string name;  // info network's: the -device id, else "virtio-net-pci.N"
    std::string qdev_id;
    VirtioNet* model;
    const PciDevice* function;
    const NetBackend* backend;  // null: no peer
  };
  const std::vector<Nic>& nics() const { return nics_; }
  const std::vector<std::unique_ptr<NetBackend>>& netdevs() const { return netdevs_; }
  // COM1-4: their ports and ISA IRQs, as QEMU's isa-serial index 0-3.
  struct ComPort {
    uint16_t base;
    unsigned irq;
  };
  static constexpr ComPort kComPorts[4] = {{0x3f8, 4}, {0x2f8, 3}, {0x3e8, 4}, {0x2e8, 3}};

 private:
  void map_ram();
  void create_devices();
  void create_serial_ports();
  void create_isa_serial(const DeviceSpec& spec);
  void load_acpi_tables();
  void create_user_devices();
  // The i440FX host bridge, PIIX3 and the configuration ports.
  void create_pci();
  // A virtio-blk-pci function for `drive` at `devfn`, or the first free
  // slot from 2 when devfn < 0.
  // `device_id` is the -device id= (empty for an if=virtio drive).
  void add_virtio_blk(const DriveSpec& drive, int devfn, const std::string& serial, const std::string& device_id,
                      int64_t bootindex = -1);
  // What firmware does before it boots an OS: give every BAR an address in
  // the PCI windows the ACPI tables describe and enable decoding.
  void assign_pci_resources();
  void send_msi(uint64_t address, uint32_t data);
  void create_virtio_blk_device(const DeviceSpec& spec);
  // machine/pc_net.cpp: the -netdev back ends (before any NIC), a
  // virtio-net-pci function, and QEMU's warning for a back end no NIC uses.
  void create_netdevs();
  void create_virtio_net_device(const DeviceSpec& spec);
  void warn_unconnected_netdevs() const;
  // pause()/resume(): NICs write no frame into guest RAM while paused.
  void set_nics_running(bool running);
  // -device ...,addr=SLOT[.FN] as QEMU's PCI address property; -1 if absent.
  int pci_devfn_property(const DeviceSpec& spec) const;
  void create_accelerator();
  void create_rtc();
  // The PIC pair, IOAPIC, local APICs and PIT that an accelerator without a
  // built-in irqchip (tcg) needs; built once, kept across resets.
  void create_software_irqchip();
  void detach_local_apics();  // before the vCPUs they post to are destroyed
  void load_boot_images();  // into memory; sets boot_cpu_state_
  void reset_devices();
  // The vCPU threads live from run() to the machine's end, parked while
  // the guest is stopped: libvirt pins them (kvm domains) by the ids it
  // reads under -S, and KVM's kick signal goes to the thread that entered
  // KVM_RUN.
  void create_vcpu_threads();
  void end_vcpu_threads();
  void start_vcpus();  // unparks them
  void stop_vcpus();   // parks them; returns once all are parked
  void vcpu_thread(unsigned index);
  void run_vcpu(Vcpu& vcpu);
  void pause();
  void resume();
  void reset_machine();
  // Emits SHUTDOWN; true if the process should leave now.
  void emit_shutdown(const std::string& reason);
  IrqLine irq_line(unsigned gsi);
  // IRQ 0 (PIT) and IRQ 8 (RTC): disconnected while the HPET is in legacy
  // replacement mode and drives those lines itself.
  IrqLine legacy_timer_irq_line(unsigned gsi);
  void create_hpet();
  // QEMU's fw_cfg_io at 0x510: what the firmware learns about the machine.
  void create_fw_cfg();
  void set_irq(unsigned gsi, bool level);

  VmConfig config_;
  PcMemoryLayout layout_;
  GuestMemory memory_;
  IoBus pio_{"ioport", IoBus::UnclaimedReads::AllOnes};
  IoBus mmio_{"mmio", IoBus::UnclaimedReads::Zero};
  RunControl control_;
  // Virtual time and the timer thread of the devices; declared before the
  // devices, so it outlives their timers.
  VirtualClock clock_;
  TimerService timers_{clock_};

  std::vector<uint8_t> firmware_image_;
  LinuxBootImage linux_image_;
  X86CpuState boot_cpu_state_;

  // accelerator_ is replaced on reset; set_irq() may run on device threads
  // meanwhile, so accelerator_mutex_ guards the pointer.
  std::shared_mutex accelerator_mutex_;
  std::unique_ptr<Accelerator> accelerator_;
  std::string accelerator_choice_;
  const CpuModel* cpu_model_ = nullptr;
  std::vector<std::unique_ptr<Vcpu>> vcpus_;
  std::vector<std::thread> vcpu_threads_;
  std::atomic<bool> vcpus_stopping_{false};
  std::unique_ptr<std::atomic<int>[]> vcpu_tids_;  // set by each vCPU thread, 0 when none
  // What the parked vCPU threads are told: each start_vcpus() is a new run
  // generation; vcpu_threads_exit_ ends them. Guarded by vcpu_park_mutex_.
  std::mutex vcpu_park_mutex_;
  std::condition_variable vcpu_park_cv_;
  uint64_t vcpu_run_generation_ = 0;
  bool vcpu_threads_exit_ = false;
  unsigned vcpus_parked_ = 0;  // threads parked after the current generation
  int main_tid_ = 0;
  int64_t paused_at_ns_ = 0;  // host monotonic time of pause()

  std::vector<std::unique_ptr<CharBackend>> char_backends_;
  CharBackend* multiplexed_stdio_ = nullptr;
  // The software irqchip's shared lock and APIC bus (tcg only), declared
  // before the devices that use them.
  std::mutex irqchip_mutex_;
  std::unique_ptr<ApicBus> apic_bus_;
  std::vector<std::unique_ptr<BusDevice>> devices_;
  std::vector<Uart16550*> uarts_;
  bool com_used_[4] = {false, false, false, false};
  // -device isa-serial chardevs: (chardev id, query-chardev filename).
  std::vector<std::pair<std::string, std::string>> serial_chardevs_;
  I8042* i8042_ = nullptr;
  SystemControlPortA* port92_ = nullptr;
  AcpiPm* acpi_pm_ = nullptr;
  Mc146818* rtc_ = nullptr;
  I8259Pair* pic_ = nullptr;           // null under kvm: the in-kernel irqchip has them
  Ioapic* ioapic_ = nullptr;
  std::vector<LocalApic*> local_apics_;
  I8254* pit_ = nullptr;
  Hpet* hpet_ = nullptr;
  FwCfg* fw_cfg_ = nullptr;
  SystemControlPortB* port61_ = nullptr;

  // PCI: the bus, then the device models behind virtio functions, then the
  // functions (destroyed first: their I/O threads use the models).
  std::unique_ptr<PciBus> pci_bus_;
  std::unique_ptr<PciConfigPorts> pci_config_ports_;
  Piix3* piix3_ = nullptr;
  // Network back ends: destroyed after the NICs and functions that use
  // them, and stopped (their threads joined) first thing in ~PcMachine.
  std::vector<std::unique_ptr<NetBackend>> netdevs_;
  std::vector<Nic> nics_;
  unsigned default_macs_ = 0;  // NICs given QEMU's default MAC, which counts up
  std::vector<std::unique_ptr<VirtioDevice>> virtio_models_;
  std::vector<std::unique_ptr<PciDevice>> pci_devices_;
  std::vector<std::string> attached_drives_;  // -drive ids a -device has taken
  std::vector<Disk> disks_;
  unsigned anonymous_devices_ = 0;  // numbers /machine/peripheral-anon/device[N]
};

}  // namespace vireo
