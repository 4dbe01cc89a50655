#include "net/net_backend.h"

namespace vireo {

void NetBackend::attach(NetReceiver* nic) {
  std::lock_guard lock(queue_mutex_);
  nic_ = nic;
}

bool NetBackend::attached() const {
  std::lock_guard lock(queue_mutex_);
  return nic_ != nullptr;
}

void NetBackend::deliver(std::span<const uint8_t> frame) {
  std::lock_guard lock(queue_mutex_);
  // Frames already waiting go first; a new one may pass them only by
  // being queued behind them.
  if (queue_.empty() && nic_ != nullptr && nic_->receive(frame)) return;
  if (queue_.size() >= kMaxQueuedFrames) {
    ++rx_dropped_;
    return;
  }
  queue_.emplace_back(frame.begin(), frame.end());
}

void NetBackend::flush() {
  std::lock_guard lock(queue_mutex_);
  while (!queue_.empty() && nic_ != nullptr && nic_->receive(queue_.front())) queue_.pop_front();
}

size_t NetBackend::rx_queued() {
  std::lock_guard lock(queue_mutex_);
  return queue_.size();
}

}  // namespace vireo
