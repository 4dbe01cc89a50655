#include "ui/monitor/line_editor.h"

namespace vireo {

namespace {

std::string cursor_left(size_t n) { return n == 0 ? "" : "\033[" + std::to_string(n) + "D"; }

}  // namespace

// Rewrites the screen from `position` to the end of the line, clearing
// what remains of a line that was `old_length` long, then puts the cursor
// back at cursor_. The terminal's cursor is at `position` on entry.
std::string LineEditor::redraw_from(size_t position, size_t old_length) {
  std::string out = buffer_.substr(position);
  size_t written_end = buffer_.size();
  if (old_length > buffer_.size()) {
    out += std::string(old_length - buffer_.size(), ' ');
    written_end = old_length;
  }
  return out + cursor_left(written_end - cursor_);
}

std::string LineEditor::replace_line(const std::string& text) {
  std::string out = cursor_left(cursor_);
  size_t old_length = buffer_.size();
  buffer_ = text;
  cursor_ = buffer_.size();
  return out + redraw_from(0, old_length);
}

std::string LineEditor::feed(char c, std::optional<std::string>& line) {
  if (escape_ == Escape::Esc) {
    escape_ = c == '[' ? Escape::Csi : c == 'O' ? Escape::Ss3 : Escape::None;
    csi_params_.clear();
    return "";
  }
  if (escape_ == Escape::Csi || escape_ == Escape::Ss3) {
    if (escape_ == Escape::Csi && c >= '0' && c <= '9' && csi_params_.size() < 8) {
      csi_params_ += c;
      return "";
    }
    escape_ = Escape::None;
    switch (c) {
      case 'A':  // up: an older line
        if (history_pos_ == 0) return "";
        if (history_pos_ == history_.size()) typed_ = buffer_;
        return replace_line(history_[--history_pos_]);
      case 'B':  // down: a newer line, then what was being typed
        if (history_pos_ >= history_.size()) return "";
        ++history_pos_;
        return replace_line(history_pos_ == history_.size() ? typed_ : history_[history_pos_]);
      case 'C':
        if (cursor_ >= buffer_.size()) return "";
        return std::string(1, buffer_[cursor_++]);
      case 'D':
        if (cursor_ == 0) return "";
        --cursor_;
        return "\b";
      case 'H':
        c = 0x01;
        break;
      case 'F':
        c = 0x05;
        break;
      case '~':
        if (csi_params_ == "1" || csi_params_ == "7") c = 0x01;
        else if (csi_params_ == "4" || csi_params_ == "8") c = 0x05;
        else if (csi_params_ == "3") c = 0x04;  // Delete
        else return "";
        break;
      default:
        return "";
    }
  }
  switch (c) {
    case '\r':
    case '\n': {
      // "\r\n" from a terminal in raw mode: the "\n" of a pair is an empty
      // line only if nothing came between; treat a lone '\n' after '\r' as done.
      if (c == '\n' && last_was_cr_) {
        last_was_cr_ = false;
        return "";
      }
      last_was_cr_ = c == '\r';
      line = buffer_;
      if (!buffer_.empty() && (history_.empty() || history_.back() != buffer_)) {
        history_.push_back(buffer_);
        if (history_.size() > kMaxHistory) history_.pop_front();
      }
      history_pos_ = history_.size();
      typed_.clear();
      buffer_.clear();
      cursor_ = 0;
      return "\r\n";
    }
    case 0x1b:
      escape_ = Escape::Esc;
      break;
    case 0x7f:
    case 0x08:  // Backspace
      if (cursor_ == 0) break;
      {
        size_t old_length = buffer_.size();
        buffer_.erase(--cursor_, 1);
        return "\b" + redraw_from(cursor_, old_length);
      }
    case 0x04:  // Delete (Ctrl-D)
      if (cursor_ >= buffer_.size()) break;
      {
        size_t old_length = buffer_.size();
        buffer_.erase(cursor_, 1);
        return redraw_from(cursor_, old_length);
      }
    case 0x01: {  // Home
      std::string out = cursor_left(cursor_);
      cursor_ = 0;
      return out;
    }
    case 0x05: {  // End
      std::string out = buffer_.substr(cursor_);
      cursor_ = buffer_.size();
      return out;
    }
    case 0x0b: {  // Ctrl-K: kill to the end
      size_t old_length = buffer_.size();
      buffer_.erase(cursor_);
      return redraw_from(cursor_, old_length);
    }
    case 0x15: {  // Ctrl-U: kill the whole line
      return replace_line("");
    }
    case 0x17: {  // Ctrl-W: kill the word before the cursor
      size_t start = cursor_;
      while (start > 0 && buffer_[start - 1] == ' ') --start;
      while (start > 0 && buffer_[start - 1] != ' ') --start;
      std::string out = cursor_left(cursor_ - start);
      size_t old_length = buffer_.size();
      buffer_.erase(start, cursor_ - start);
      cursor_ = start;
      return out + redraw_from(cursor_, old_length);
    }
    default:
      last_was_cr_ = false;
      if (static_cast<unsigned char>(c) < 0x20 || buffer_.size() >= kMaxLineBytes) break;
      {
        size_t old_length = buffer_.size();
        buffer_.insert(cursor_, 1, c);
        ++cursor_;
        return std::string(1, c) + redraw_from(cursor_, old_length + 1);
      }
  }
  if (c != '\r') last_was_cr_ = false;
  return "";
}

}  // namespace vireo
