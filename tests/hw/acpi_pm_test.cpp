// The ACPI PM1 and timer registers: soft-off through SLP_EN, the power
// button and the level-triggered SCI, write-one-to-clear status, the timer's
// rate and width.
#include <catch2/catch.hpp>

#include "hw/acpi/acpi_pm.h"

using namespace vireo;

namespace {

struct PmFixture {
  RunControl control;
  bool sci = false;
  uint64_t now_ns = 0;
  AcpiPm pm{IrqLine([this](bool level) { sci = level; }), control, [this] { return now_ns; }};
};

}  // namespace

TEST_CASE("acpi pm: SLP_EN with SLP_TYP 0 powers off; other sleep types do not", "[acpi]") {
  PmFixture f;
  f.pm.write(AcpiPm::kPm1Control, 2, (1u << AcpiPm::kSleepTypeShift) | AcpiPm::kSleepEnable);
  CHECK_FALSE(f.control.pending());
  f.pm.write(AcpiPm::kPm1Control, 2, AcpiPm::kSleepEnable | AcpiPm::kSciEnable);
  REQUIRE(f.control.pending());
  CHECK(f.control.wait().kind == MachineRequest::Kind::PowerOff);
  // SLP_EN is write-only: it never reads back.
  CHECK((f.pm.read(AcpiPm::kPm1Control, 2) & AcpiPm::kSleepEnable) == 0);
  CHECK((f.pm.read(AcpiPm::kPm1Control, 2) & AcpiPm::kSciEnable) != 0);
}

TEST_CASE("acpi pm: the power button raises the SCI only while enabled, until cleared", "[acpi]") {
  PmFixture f;
  f.pm.press_power_button();
  CHECK((f.pm.read(AcpiPm::kPm1Status, 2) & AcpiPm::kPowerButton) != 0);
  CHECK_FALSE(f.sci);
  f.pm.write(AcpiPm::kPm1Enable, 2, AcpiPm::kPowerButton);
  CHECK(f.sci);
  // Writing zero changes nothing; writing the bit clears it.
  f.pm.write(AcpiPm::kPm1Status, 2, 0);
  CHECK(f.sci);
  f.pm.write(AcpiPm::kPm1Status, 2, AcpiPm::kPowerButton);
  CHECK_FALSE(f.sci);
  CHECK((f.pm.read(AcpiPm::kPm1Status, 2) & AcpiPm::kPowerButton) == 0);
}

TEST_CASE("acpi pm: a 32-bit write to the event block sets status and enable together", "[acpi]") {
  PmFixture f;
  f.pm.press_power_button();
  f.pm.write(AcpiPm::kPm1Status, 4, uint32_t{AcpiPm::kPowerButton} << 16);  // enable only
  CHECK(f.sci);
  CHECK(f.pm.read(AcpiPm::kPm1Status, 4) == (uint32_t{AcpiPm::kPowerButton} << 16 | AcpiPm::kPowerButton));
}

TEST_CASE("acpi pm: the PM timer counts at 3.579545 MHz in 24 bits", "[acpi]") {
  PmFixture f;
  f.now_ns = 1'000'000'000;  // one second
  CHECK(f.pm.read(AcpiPm::kPmTimer, 4) == (3579545u & 0xffffff));
  f.now_ns = 10'000'000'000;  // ten seconds: 35795450 wraps in 24 bits
  CHECK(f.pm.read(AcpiPm::kPmTimer, 4) == (35795450u & 0xffffff));
}

TEST_CASE("acpi pm: reset clears status, enables and control", "[acpi]") {
  PmFixture f;
  f.pm.write(AcpiPm::kPm1Enable, 2, AcpiPm::kPowerButton);
  f.pm.press_power_button();
  REQUIRE(f.sci);
  f.pm.reset();
  CHECK_FALSE(f.sci);
  CHECK(f.pm.read(AcpiPm::kPm1Status, 4) == 0);
}
