// vireo-img convert: copies the guest-visible bytes of one image into a new
// one of the same or another format, skipping zeroes (the new image reads
// them as zeroes already), optionally compressing qcow2 clusters.
#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstring>
#include <future>
#include <thread>

#include "block/host_file.h"
#include "block/raw.h"
#include "system/keyval.h"
#include "tools/img/img.h"

namespace vireo::img {

namespace {

constexpr uint64_t kChunkBytes = 2u << 20;

// True when [offset, offset+length) certainly reads as zeroes, known from
// metadata alone (no data read).
bool known_zero(BlockBackend* image, uint64_t offset, uint64_t length) {
  Qcow2Image* qcow2 = as_qcow2(image);
  if (!qcow2) {
    // A raw file's holes (SEEK_HOLE), without reading them.
    auto [is_data, run] = static_cast<RawImage*>(image)->host_file().data_extent(offset);
    return !is_data && run >= length;
  }
  const uint64_t cluster = qcow2->cluster_size();
  for (uint64_t at = offset - offset % cluster; at < offset + length; at += cluster) {
    auto [kind, host] = qcow2->cluster_status(at);
    if (kind == Qcow2ClusterKind::Zero) continue;
    if (kind != Qcow2ClusterKind::Unallocated) return false;
    BlockBackend* backing = qcow2->backing();
    if (!backing || at >= backing->size_bytes()) continue;
    uint64_t from = std::max(at, offset);
    uint64_t to = std::min({at + cluster, offset + length, backing->size_bytes()});
    if (!known_zero(backing, from, to - from)) return false;
  }
  return true;
}

bool all_zero(std::span<const uint8_t> data) {
  // Zero iff the first byte is zero and every byte equals the next one
  // (memcmp runs at memory speed; a byte loop does not).
  return data.empty() || (data[0] == 0 && std::memcmp(data.data(), data.data() + 1, data.size() - 1) == 0);
}

// convert -B: the new image has the backing file, so only the 4 KiB pieces
// where the source differs from what the target reads already are written
// (pieces smaller than a cluster exercise copy-on-write from the backing).
void write_differences(BlockBackend& target, uint64_t offset, std::span<const uint8_t> data,
                       std::vector<uint8_t>& scratch) {
  constexpr uint64_t kPiece = 4096;
  std::span<uint8_t> current(scratch.data(), data.size());
  target.read(offset, current);
  for (uint64_t at = 0; at < data.size();) {
    uint64_t length = std::min<uint64_t>(kPiece, data.size() - at);
    if (std::equal(data.begin() + at, data.begin() + at + length, current.begin() + at)) {
      at += length;
      continue;
    }
    uint64_t end = at + length;
    while (end < data.size()) {
      uint64_t next = std::min<uint64_t>(kPiece, data.size() - end);
      if (std::equal(data.begin() + end, data.begin() + end + next, current.begin() + end)) break;
      end += next;
    }
    std::span<const uint8_t> piece = data.subspan(at, end - at);
    if (all_zero(piece)) {
      target.write_zeroes(offset + at, piece.size());
    } else {
      target.write(offset + at, piece);
    }
    at = end;
  }
}

void write_compressed_batch(Qcow2Image& target, uint64_t offset, std::span<const uint8_t> data) {
  const uint64_t cluster = target.cluster_size();
  const size_t count = static_cast<size_t>((data.size() + cluster - 1) / cluster);
  auto piece = [&](size_t i) { return data.subspan(i * cluster, std::min<uint64_t>(cluster, data.size() - i * cluster)); };
  std::vector<std::vector<uint8_t>> packed(count);
  std::vector<uint8_t> zero(count);  // not vector<bool>: threads write neighbours
  const size_t workers = std::max(1u, std::min(std::thread::hardware_concurrency(), 8u));
  std::vector<std::thread> threads;
  // Clusters are handed out one at a time, so a worker the scheduler
  // delays does not hold up the batch; this thread works too.
  std::atomic<size_t> next{0};
  auto work = [&] {
    for (size_t i = next++; i < count; i = next++) {
      zero[i] = all_zero(piece(i));
      if (!zero[i]) packed[i] = target.compress_cluster(piece(i));
    }
  };
  for (size_t w = 1; w < workers; ++w) threads.emplace_back(work);
  work();
  for (std::thread& thread : threads) thread.join();
  for (size_t i = 0; i < count; ++i) {
    if (!zero[i]) target.write_compressed(offset + i * cluster, piece(i), &packed[i]);
  }
}

// Reads like image->read(), but reads only the data of a raw file and
// fills its holes with zeroes (saves copying pages of zeroes).
void read_source(BlockBackend* image, uint64_t offset, std::span<uint8_t> out) {
  auto* raw = dynamic_cast<RawImage*>(image);
  if (!raw) {
    image->read(offset, out);
    return;
  }
  for (uint64_t done = 0; done < out.size();) {
    auto [is_data, run] = raw->host_file().data_extent(offset + done);
    uint64_t n = std::min<uint64_t>(std::max<uint64_t>(run, 1), out.size() - done);
    if (is_data) {
      image->read(offset + done, out.subspan(done, n));
    } else {
      std::memset(out.data() + done, 0, n);
    }
    done += n;
  }
}

class Progress {
 public:
  explicit Progress(bool enabled) : enabled_(enabled) { print(0); }
  void update(uint64_t done, uint64_t total) {
    double percent = total ? static_cast<double>(done) * 100.0 / static_cast<double>(total) : 100.0;
    if (percent - last_ >= 1.0) print(percent);
  }
  void finish() {
    if (!enabled_) return;
    print(100.0);
    std::printf("\n");
  }

 private:
  void print(double percent) {
    last_ = percent;
    if (!enabled_) return;
    std::printf("    (%3.2f/100%%)\r", percent);
    std::fflush(stdout);
  }
  bool enabled_;
  double last_ = 0;
};

}  // namespace

int cmd_convert(const Args& args) {
  ParsedArgs parsed = parse_args(args, "hf:O:B:F:Cco:l:S:pt:T:qnm:WrU",
                                 {"help", "object=", "image-opts", "target-image-opts", "force-share", "salvage"});
  std::string source_format;
  std::string output_format = "raw";
  std::string options_text;
  bool compress = false;
  bool progress = false;
  std::string backing_file;
  std::string backing_format;
  for (const Option& option : parsed.options) {
    if (option.name == "f") source_format = option.value;
    if (option.name == "O") output_format = option.value;
    if (option.name == "c") compress = true;
    if (option.name == "p") progress = true;
    if (option.name == "o") options_text += (options_text.empty() ? "" : ",") + option.value;
    if (option.name == "B") backing_file = option.value;
    if (option.name == "F") backing_format = option.value;
    if (option.name == "n" || option.name == "l") {
      throw ImgError("convert -" + option.name + " is not supported by vireo-img");
    }
  }
  if (parsed.positional.size() != 2) throw ImgError("Expecting one source and one destination file name");
  const std::string& source_path = parsed.positional[0];
  const std::string& target_path = parsed.positional[1];
  if (output_format != "raw" && output_format != "qcow2") throw ImgError("Unknown file format '" + output_format + "'");
  if (compress && output_format != "qcow2") throw ImgError("Compression not supported for this file format");

  std::unique_ptr<BlockBackend> source;
  try {
    source = open_image(source_path, source_format, true, false, wants_force_share(parsed));
  } catch (const BlockError& error) {
    throw ImgError(error.what());
  }
  const uint64_t size = source->size_bytes();

  if (!backing_file.empty() && (output_format != "qcow2" || compress)) {
    throw ImgError("-B is only supported for uncompressed qcow2 output");
  }
  if (!backing_file.empty() && backing_format.empty()) throw ImgError(target_path + ": Backing file specified without backing format");
  Qcow2CreateOptions qcow2;
  qcow2.size_bytes = size;
  qcow2.backing_file = backing_file;
  qcow2.backing_format = backing_format;
  for (auto& [key, value] : parse_create_options(options_text)) {
    if (output_format != "qcow2") throw ImgError(target_path + ": Invalid parameter '" + key + "'");
    if (key == "cluster_size") {
      qcow2.cluster_size = parse_size(value, 1, key);
    } else if (key == "compat") {
      qcow2.version = value == "0.10" || value == "v2" ? 2 : 3;
    } else if (key == "lazy_refcounts") {
      qcow2.lazy_refcounts = parse_bool(value, key);
    } else if (key == "refcount_bits") {
      qcow2.refcount_bits = static_cast<uint32_t>(parse_uint(value, key));
    } else {
      throw ImgError(target_path + ": Invalid parameter '" + key + "'");
    }
  }

  std::unique_ptr<BlockBackend> target;
  try {
    if (output_format == "raw") {
      HostFile::create(target_path).truncate(size);
    } else {
      create_qcow2(target_path, qcow2);
    }
    BlockOpenOptions options;
    options.path = target_path;
    options.format = output_format;
    options.cache = CacheMode::Unsafe;  // one flush at the end, as qemu-img convert
    target = open_block_backend(options);
  } catch (const BlockError& error) {
    throw ImgError(target_path + ": " + error.what());
  }

  Progress bar(progress);
  Qcow2Image* target_qcow2 = as_qcow2(target.get());
  // Compression reads a batch of clusters and deflates them on every core
  // before storing them in order.
  const uint64_t step = compress ? target_qcow2->cluster_size() * 256 : kChunkBytes;
  std::vector<uint8_t> backing_data(step);
  try {
    // The source is read one chunk ahead on another thread, so reading
    // and writing overlap (as qemu-img's parallel requests do). Only one
    // thread touches the source at a time: the future hands it over.
    struct Chunk {
      uint64_t offset = 0;
      bool zero = false;
      std::vector<uint8_t> data;
    };
    const bool with_backing = !backing_file.empty();
    auto load = [&source, size, step, with_backing](uint64_t offset) {
      Chunk chunk;
      chunk.offset = offset;
      uint64_t length = std::min(step, size - offset);
      if (!with_backing && known_zero(source.get(), offset, length)) {
        chunk.zero = true;
        return chunk;
      }
      chunk.data.resize(length);
      read_source(source.get(), offset, chunk.data);
      return chunk;
    };
    std::future<Chunk> next;
    if (size > 0) next = std::async(std::launch::async, load, 0);
    for (uint64_t offset = 0; offset < size; offset += step) {
      Chunk chunk = next.get();
      if (offset + step < size) next = std::async(std::launch::async, load, offset + step);
      bar.update(offset, size);
      if (chunk.zero) continue;
      std::span<uint8_t> data(chunk.data);
      const uint64_t length = data.size();
      if (with_backing) {
        write_differences(*target, offset, data, backing_data);
        continue;
      }
      if (compress) {
        write_compressed_batch(*target_qcow2, offset, data);
        continue;
      }
      // Write only the non-zero clusters-worth (64 KiB) pieces: the new
      // image is sparse where the source is zero.
      constexpr uint64_t kPiece = 64 << 10;
      for (uint64_t at = 0; at < length;) {
        uint64_t end = at;
        while (end < length && !all_zero(data.subspan(end, std::min(kPiece, length - end)))) end += std::min(kPiece, length - end);
        if (end > at) {
          target->write(offset + at, data.subspan(at, end - at));
          at = end;
        } else {
          at += std::min(kPiece, length - at);
        }
      }
    }
    // No fsync at the end: qemu-img convert's default cache mode for the
    // target is "unsafe" too (it calls no fdatasync on it); the page
    // cache writes the image back.
  } catch (const BlockError& error) {
    throw ImgError("error while converting: " + std::string(error.what()));
  }
  bar.finish();
  return 0;
}

}  // namespace vireo::img
