// XrtDevice: registers through xrt::ip, rings in xrt::bo buffers of the bank the kernel's
// m_axi_rings is connected to, with explicit syncs. XRT reports errors by exceptions; they are
// caught here and become Status values, so nothing above hal sees one.
#include "roamgate/hal/xrt_device.h"

#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <experimental/xrt_ip.h>
#include <experimental/xrt_system.h>
#include <experimental/xrt_xclbin.h>
#include <fstream>
#include <nlohmann/json.hpp>
#include <regex>
#include <vector>
#include <xrt/xrt_bo.h>
#include <xrt/xrt_device.h>

#include "roamgate/regs/gate.h"
#include "roamgate/regs/steer.h"

namespace roamgate::hal {

namespace {

struct KnownKernel {
  const char* name;  // the Vitis kernel name (hw/vitis/<kernel>/kernel.xml)
  const char* kernel;
  uint32_t id;
  uint32_t regmapCrc;
};
constexpr KnownKernel kKernels[] = {
    {"roamgate_steer", "steer", regs::steer::kKernelId, regs::steer::kRegmapCrc},
    {"roamgate_gate", "gate", regs::gate::kKernelId, regs::gate::kRegmapCrc},
};
constexpr uint32_t kIdReg = 0x00;      // every kernel: ID at 0, VERSION at 4, REGMAP at 8
constexpr uint32_t kRegmapReg = 0x08;
static_assert(regs::steer::ctrl::kId == kIdReg && regs::gate::ctrl::kId == kIdReg);
static_assert(regs::steer::ctrl::kRegmap == kRegmapReg && regs::gate::ctrl::kRegmap == kRegmapReg);
constexpr uint64_t kWindowBytes = 64 * 1024;
constexpr uint64_t kBoAlign = 4096;  // XRT buffers start on a page
constexpr const char* kRegmapKey = "roamgate_regmap";
constexpr const char* kXrtHome = "/opt/xilinx/xrt";  // where Xilinx's XRT packages install

std::string hex32(uint32_t v) {
  char b[16];
  std::snprintf(b, sizeof b, "0x%08x", v);
  return b;
}

// The axlf container's own consistency, checked before XRT's parser reads it (XRT trusts the
// section table; a truncated or damaged file must be refused, not read past its end).
Status checkContainer(const std::vector<char>& data, const std::string& path) {
  if (data.size() < sizeof(axlf) || std::memcmp(data.data(), "xclbin2", 8) != 0) {
    return Status::error(path + " is not an xclbin (no xclbin2 header)");
  }
  auto top = reinterpret_cast<const axlf*>(data.data());
  if (top->m_header.m_length != data.size()) {
    return Status::error(path + " is damaged: its header says " + std::to_string(top->m_header.m_length) +
                         " bytes, the file has " + std::to_string(data.size()));
  }
  uint64_t n = top->m_header.m_numSections;
  if (n == 0 || n > XCLBIN_MAX_NUM_SECTION ||
      sizeof(axlf) + (n - 1) * sizeof(axlf_section_header) > data.size()) {
    return Status::error(path + " is damaged: bad section count " + std::to_string(n));
  }
  for (uint64_t i = 0; i < n; ++i) {
    const axlf_section_header& s = top->m_sections[i];
    if (s.m_sectionOffset > data.size() || s.m_sectionSize > data.size() - s.m_sectionOffset) {
      return Status::error(path + " is damaged: section " + std::to_string(i) + " lies past the end");
    }
  }
  return {};
}

// KEYVALUE_METADATA ({"key_values": [{"key": K, "value": V}, ...]}, what xclbinutil
// --add-key-value writes). XRT's xclbin object does not index this section, so it is found
// in the container directly.
bool findKeyValue(const std::vector<char>& data, const std::string& key, std::string& value) {
  auto top = reinterpret_cast<const axlf*>(data.data());
  for (uint32_t i = 0; i < top->m_header.m_numSections; ++i) {
    const axlf_section_header& s = top->m_sections[i];
    if (s.m_sectionKind != KEYVALUE_METADATA) continue;
    std::string text(data.data() + s.m_sectionOffset, s.m_sectionSize);
    text = text.substr(0, text.find('\0'));
    auto j = nlohmann::json::parse(text, nullptr, false);
    if (j.is_discarded() || !j.contains("key_values") || !j["key_values"].is_array()) return false;
    for (const auto& kv : j["key_values"]) {
      if (kv.is_object() && kv.value("key", "") == key && kv.contains("value") && kv["value"].is_string()) {
        value = kv["value"].get<std::string>();
        return true;
      }
    }
  }
  return false;
}

class XrtDevice : public Device {
 public:
  XrtDevice(xrt::device dev, xrt::ip ip, XclbinFacts facts, std::string target)
      : dev_(std::move(dev)), ip_(std::move(ip)), facts_(std::move(facts)), target_(std::move(target)) {}

  Status transact(std::span<RegOp> ops) override {
    try {
      for (RegOp& op : ops) {
        if (op.addr >= kWindowBytes || (op.addr & 3)) {
          return Status::error("register address " + hex32(op.addr) + " is outside the kernel's window");
        }
        if (op.write) {
          ip_.write_register(op.addr, op.value);
        } else {
          op.value = ip_.read_register(op.addr);
        }
      }
    } catch (const std::exception& e) {
      return Status::error(describe() + ": register access failed: " + e.what());
    }
    return {};
  }

  std::string describe() const override { return "xrt:" + target_ + " (" + facts_.cuName + ")"; }

  Status allocMem(uint64_t bytes, uint64_t align, uint64_t& addr) override {
    if (bytes == 0) return Status::error("device memory: bad allocation size");
    if (align == 0 || (align & (align - 1))) return Status::error("device memory: alignment must be a power of two");
    uint64_t extra = align > kBoAlign ? align : 0;
    try {
      Region r;
      r.bo = xrt::bo(dev_, bytes + extra, xrt::bo::flags::normal, xrt::memory_group(facts_.memGroup));
      r.map = r.bo.map<uint8_t*>();
      uint64_t base = r.bo.address();
      r.addr = (base + align - 1) & ~(align - 1);
      r.offset = r.addr - base;
      r.bytes = bytes;
      std::memset(r.map + r.offset, 0, bytes);
      r.bo.sync(XCL_BO_SYNC_BO_TO_DEVICE, bytes, r.offset);
      addr = r.addr;
      regions_.push_back(std::move(r));
    } catch (const std::exception& e) {
      return Status::error("device memory: cannot allocate " + std::to_string(bytes) + " bytes in " +
                           facts_.memTag + ": " + e.what());
    }
    return {};
  }

  Status readMem(uint64_t addr, std::span<uint8_t> out) override {
    Region* r = find(addr, out.size());
    if (!r) return Status::error("device memory: no buffer holds " + std::to_string(out.size()) + " bytes at " + hexAddr(addr));
    size_t off = r->offset + (addr - r->addr);
    try {
      r->bo.sync(XCL_BO_SYNC_BO_FROM_DEVICE, out.size(), off);
    } catch (const std::exception& e) {
      return Status::error(std::string("device memory: sync from the card failed: ") + e.what());
    }
    std::memcpy(out.data(), r->map + off, out.size());
    return {};
  }

  Status writeMem(uint64_t addr, std::span<const uint8_t> in) override {
    Region* r = find(addr, in.size());
    if (!r) return Status::error("device memory: no buffer holds " + std::to_string(in.size()) + " bytes at " + hexAddr(addr));
    size_t off = r->offset + (addr - r->addr);
    std::memcpy(r->map + off, in.data(), in.size());
    try {
      r->bo.sync(XCL_BO_SYNC_BO_TO_DEVICE, in.size(), off);
    } catch (const std::exception& e) {
      return Status::error(std::string("device memory: sync to the card failed: ") + e.what());
    }
    return {};
  }

 private:
  struct Region {
    xrt::bo bo;
    uint8_t* map = nullptr;
    uint64_t addr = 0;    // aligned device address handed out
    uint64_t offset = 0;  // of addr within the buffer
    uint64_t bytes = 0;
  };
  static std::string hexAddr(uint64_t a) {
    char b[24];
    std::snprintf(b, sizeof b, "0x%llx", static_cast<unsigned long long>(a));
    return b;
  }
  Region* find(uint64_t addr, size_t n) {
    for (Region& r : regions_) {
      if (addr >= r.addr && addr - r.addr <= r.bytes && n <= r.bytes - (addr - r.addr)) return &r;
    }
    return nullptr;
  }

  xrt::device dev_;
  xrt::ip ip_;
  XclbinFacts facts_;
  std::string target_;
  std::vector<Region> regions_;
};

OpenResult fail(OpenFailure f, std::string msg) {
  OpenResult r;
  r.failure = f;
  r.message = std::move(msg);
  return r;
}

bool fileExists(const std::string& p) {
  struct stat st{};
  return ::stat(p.c_str(), &st) == 0;
}

// XRT finds its driver shim as $XILINX_XRT/lib/libxrt_core.so.2. Xilinx's packages install
// under /opt/xilinx/xrt and their setup.sh sets the variable; a daemon started without it
// still finds the runtime there.
Status prepareRuntime() {
  const char* home = std::getenv("XILINX_XRT");
  std::string dir = home && *home ? home : "";
  if (dir.empty()) {
    if (!fileExists(std::string(kXrtHome) + "/lib/libxrt_core.so.2")) {
      return Status::error(
          "no XRT runtime: XILINX_XRT is not set and " + std::string(kXrtHome) +
          " is not installed. Install XRT and the card's shell (docs/deploy.md), or set XILINX_XRT");
    }
    dir = kXrtHome;
    ::setenv("XILINX_XRT", kXrtHome, 0);
  }
  if (!fileExists(dir + "/lib/libxrt_core.so.2")) {
    return Status::error("no XRT runtime: XILINX_XRT=" + dir + " has no lib/libxrt_core.so.2 (docs/deploy.md)");
  }
  return {};
}

}  // namespace

Status inspectXclbin(const std::string& path, XclbinFacts& facts) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::error("cannot read xclbin " + path + ": " + std::strerror(errno));
  std::vector<char> data((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (Status s = checkContainer(data, path); !s) return s;

  facts = XclbinFacts{};
  try {
    xrt::xclbin x(data);
    facts.platform = x.get_xsa_name();
    facts.uuid = x.get_uuid().to_string();
    const KnownKernel* known = nullptr;
    xrt::xclbin::kernel kernel;
    std::string names;
    for (const auto& k : x.get_kernels()) {
      std::string n = k.get_name();
      names += (names.empty() ? "" : ", ") + n;
      for (const KnownKernel& kk : kKernels) {
        if (n != kk.name) continue;
        if (known) return Status::error(path + " holds both " + known->name + " and " + n + "; a card runs one Roamgate kernel");
        known = &kk;
        kernel = k;
      }
    }
    if (!known) {
      return Status::error(path + " holds no Roamgate kernel (roamgate_steer or roamgate_gate); it has: " +
                           (names.empty() ? "no kernels" : names));
    }
    facts.kernel = known->kernel;
    facts.kernelId = known->id;
    auto cus = kernel.get_cus();
    if (cus.empty()) return Status::error(path + ": kernel " + known->name + " has no compute unit");
    if (cus.size() > 1) return Status::error(path + ": kernel " + known->name + " has " + std::to_string(cus.size()) + " compute units; the host drives one");
    const auto& cu = cus.front();
    facts.cuName = cu.get_name();
    if (cu.get_control_type() != xrt::xclbin::ip::control_type::none) {
      return Status::error(path + ": " + facts.cuName +
                           " is not free running (ap_ctrl_none); Roamgate kernels are packaged by hw/vitis");
    }
    if (cu.get_size() < kWindowBytes) {
      return Status::error(path + ": " + facts.cuName + " has a " + std::to_string(cu.get_size()) +
                           "-byte register window; the kernel's is 64 KiB");
    }
    for (const auto& arg : kernel.get_args()) {
      if (arg.get_name() != "rings") continue;
      for (const auto& m : arg.get_mems()) {
        facts.memGroup = m.get_index();
        facts.memTag = m.get_tag();
        break;
      }
    }
    if (facts.memGroup < 0) {
      return Status::error(path + ": " + facts.cuName +
                           "'s rings argument is not connected to a memory bank (sp= in the v++ link config)");
    }
  } catch (const std::exception& e) {
    return Status::error(path + " cannot be read as an xclbin: " + e.what());
  }

  std::string crcText;
  if (!findKeyValue(data, kRegmapKey, crcText)) {
    return Status::error(path + " does not record its register map (" + std::string(kRegmapKey) +
                         " key, added by make -C hw/vitis); refusing an image of unknown layout");
  }
  char* end = nullptr;
  errno = 0;
  unsigned long crc = std::strtoul(crcText.c_str(), &end, 0);
  if (errno || crcText.empty() || *end || crc > 0xffffffffUL) {
    return Status::error(path + ": " + kRegmapKey + " is not a number: '" + crcText + "'");
  }
  facts.regmapCrc = uint32_t(crc);
  for (const KnownKernel& kk : kKernels) {
    if (facts.kernel == kk.kernel && facts.regmapCrc != kk.regmapCrc) {
      return Status::error(path + " has the " + facts.kernel + " register map " + hex32(facts.regmapCrc) +
                           ", this program was built for " + hex32(kk.regmapCrc) + " (rebuild one of them)");
    }
  }
  return {};
}

OpenResult openXrtDevice(const std::string& target, const std::string& xclbin) {
  static const std::regex kIndex("[0-9]{1,3}");
  static const std::regex kBdf("([0-9a-fA-F]{4}:)?[0-9a-fA-F]{2}:[0-9a-fA-F]{2}\\.[0-7]");
  bool byIndex = std::regex_match(target, kIndex);
  if (!byIndex && !std::regex_match(target, kBdf)) {
    return fail(OpenFailure::kUsage, "bad xrt device '" + target + "': expected xrt:INDEX (e.g. xrt:0) or xrt:BDF (e.g. xrt:0000:3b:00.1)");
  }
  if (xclbin.empty()) {
    return fail(OpenFailure::kUsage, "xrt:" + target + " needs --xclbin PATH (or ROAMGATE_XCLBIN): the image to load");
  }
  XclbinFacts facts;
  if (Status s = inspectXclbin(xclbin, facts); !s) return fail(OpenFailure::kBadImage, s.message());
  if (Status s = prepareRuntime(); !s) return fail(OpenFailure::kUnavailable, s.message());

  xrt::device dev;
  try {
    unsigned count = xrt::system::enumerate_devices();
    if (count == 0) {
      return fail(OpenFailure::kUnavailable,
                  "no Alveo card: XRT finds no device (is the card installed and its xocl driver loaded? "
                  "see 'xbutil examine')");
    }
    if (byIndex) {
      unsigned index = unsigned(std::stoul(target));
      if (index >= count) {
        return fail(OpenFailure::kUnavailable, "no device xrt:" + target + ": XRT finds " + std::to_string(count) +
                                                   " (xrt:0.." + std::to_string(count - 1) + ")");
      }
      dev = xrt::device(index);
    } else {
      dev = xrt::device(target);
    }
  } catch (const std::exception& e) {
    return fail(OpenFailure::kUnavailable, "cannot open xrt:" + target + ": " + e.what());
  }

  xrt::ip ip;
  try {
    auto uuid = dev.load_xclbin(xclbin);
    ip = xrt::ip(dev, uuid, facts.cuName);
  } catch (const std::exception& e) {
    return fail(OpenFailure::kFailed, "cannot load " + xclbin + " on xrt:" + target + ": " + e.what());
  }
  auto device = std::make_unique<XrtDevice>(std::move(dev), std::move(ip), facts, target);
  RegOp ops[2] = {{false, kIdReg, 0}, {false, kRegmapReg, 0}};
  if (Status s = device->transact(ops); !s) return fail(OpenFailure::kFailed, s.message());
  if (ops[0].value != facts.kernelId || ops[1].value != facts.regmapCrc) {
    return fail(OpenFailure::kBadImage, "xrt:" + target + " runs " + facts.cuName + " with id " + hex32(ops[0].value) +
                                            " and register map " + hex32(ops[1].value) + "; " + xclbin +
                                            " promised " + hex32(facts.kernelId) + " and " + hex32(facts.regmapCrc));
  }
  OpenResult r;
  r.device = std::move(device);
  return r;
}

}  // namespace roamgate::hal
