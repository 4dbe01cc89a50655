#include "ui/monitor/qmp_session.h"

namespace vireo {

namespace {

// Outside strings, JSON has only structure, whitespace, numbers and the
// literals true, false and null.
bool could_be_json_outside_string(char c) {
  static constexpr std::string_view kAllowed = "{}[],: \t\r\n0123456789+-.eEtrufalsn";
  return kAllowed.find(c) != std::string_view::npos;
}

}  // namespace

std::vector<JsonStreamer::Piece> JsonStreamer::feed(std::string_view bytes) {
  std::vector<Piece> out;
  for (char c : bytes) {
    if (skip_line_) {
      if (c == '\n') skip_line_ = false;
      continue;
    }
    if (skipping_) {
      // Drop the rest of an oversized message: until its brackets close,
      // or a newline at depth 0.
      if (in_string_) {
        if (escaped_) escaped_ = false;
        else if (c == '\\') escaped_ = true;
        else if (c == '"') in_string_ = false;
        continue;
      }
      if (c == '"') in_string_ = true;
      else if (c == '{' || c == '[') ++depth_;
      else if ((c == '}' || c == ']') && depth_ > 0) --depth_;
      if (depth_ == 0 && (c == '}' || c == ']' || c == '\n')) skipping_ = false;
      continue;
    }
    if (garbage_) {
      if (c == '\n') {
        out.push_back({buffer_, false});
        buffer_.clear();
        garbage_ = false;
      } else {
        buffer_ += c;
      }
    } else if (depth_ == 0) {
      if (c == '{' || c == '[') {
        buffer_ = c;
        depth_ = 1;
      } else if (c != ' ' && c != '\t' && c != '\r' && c != '\n') {
        buffer_ = c;
        garbage_ = true;
      }
      continue;
    } else {
      buffer_ += c;
      if (in_string_) {
        if (escaped_) escaped_ = false;
        else if (c == '\\') escaped_ = true;
        else if (c == '"') in_string_ = false;
      } else if (c == '"') {
        in_string_ = true;
      } else if (!could_be_json_outside_string(c)) {
        // A character no JSON token has (QEMU's lexer stops here too): the
        // message is a parse error now, and the rest of the line is dropped
        // with it rather than reported again.
        out.push_back({std::move(buffer_), false});
        buffer_.clear();
        depth_ = 0;
        skip_line_ = true;
        continue;
      } else if (c == '{' || c == '[') {
        if (++depth_ > kMaxDepth) {
          out.push_back({"JSON parse error, nesting too deep", true});
          buffer_.clear();
          skipping_ = true;
          continue;
        }
      } else if (c == '}' || c == ']') {
        if (--depth_ == 0) {
          out.push_back({std::move(buffer_), false});
          buffer_.clear();
          continue;
        }
      }
    }
    if (buffer_.size() > kMaxMessageBytes) {
      out.push_back({"JSON parse error, message larger than " + std::to_string(kMaxMessageBytes) + " bytes", true});
      buffer_.clear();
      if (garbage_) {
        garbage_ = false;
        skipping_ = true;
        depth_ = 0;
        in_string_ = false;
      } else {
        skipping_ = true;
      }
    }
  }
  return out;
}

std::string QmpSession::greeting() const {
  // No capabilities: vireo does not offer out-of-band execution.
  return reply({{"QMP", {{"version", version_}, {"capabilities", Json::array()}}}});
}

std::string QmpSession::reply(Json message) const {
  return (pretty ? message.dump(4) : message.dump(-1, ' ', false, Json::error_handler_t::replace)) + "\r\n";
}

std::string QmpSession::receive(std::string_view bytes, std::vector<std::function<void()>>& after_reply) {
  std::string out;
  for (JsonStreamer::Piece& piece : streamer_.feed(bytes)) {
    if (piece.error) {
      out += reply({{"error", {{"class", "GenericError"}, {"desc", piece.text}}}});
    } else {
      out += handle_message(piece.text, after_reply);
    }
  }
  return out;
}

std::string QmpSession::handle_message(const std::string& text, std::vector<std::function<void()>>& after_reply) {
  auto error = [&](const std::string& cls, const std::string& desc, const Json* id) {
    Json r = {{"error", {{"class", cls}, {"desc", desc}}}};
    if (id != nullptr) r["id"] = *id;
    return reply(std::move(r));
  };
  Json request;
  try {
    request = Json::parse(text);
  } catch (const Json::exception& e) {
    // QEMU names the offending token; nlohmann says where and what it
    // expected. Both begin "JSON parse error, ", which clients match on.
    std::string why = e.what();
    size_t colon = why.find(": ");
    why = colon == std::string::npos ? why : why.substr(colon + 2);
    return error("GenericError", "JSON parse error, " + why, nullptr);
  }
  if (!request.is_object()) return error("GenericError", "QMP input must be a JSON object", nullptr);
  const Json* id = request.contains("id") ? &request["id"] : nullptr;
  for (const auto& [key, value] : request.items()) {
    if (key != "execute" && key != "exec-oob" && key != "arguments" && key != "id" && key != "control") {
      return error("GenericError", "QMP input member '" + key + "' is unexpected", id);
    }
  }
  if (request.contains("exec-oob")) {
    return error("GenericError", "QMP input member 'exec-oob' is unexpected (out-of-band execution is not offered)", id);
  }
  if (!request.contains("execute")) return error("GenericError", "QMP input lacks member 'execute'", id);
  if (!request["execute"].is_string()) return error("GenericError", "QMP input member 'execute' must be a string", id);
  std::string name = request["execute"].get<std::string>();
  Json args = request.contains("arguments") ? request["arguments"] : Json::object();
  if (!args.is_object()) return error("GenericError", "QMP input member 'arguments' must be an object", id);

  if (!negotiated_ && name != "qmp_capabilities") {
    return error("CommandNotFound", "Expecting capabilities negotiation with 'qmp_capabilities'", id);
  }
  if (name == "qmp_capabilities") {
    if (negotiated_) return error("CommandNotFound", "Capabilities negotiation is already complete, command ignored", id);
    if (args.contains("enable")) {
      const Json& enable = args["enable"];
      if (!enable.is_array()) return error("GenericError", "Invalid parameter type for 'enable', expected: array", id);
      for (const Json& cap : enable) {
        if (!cap.is_string()) return error("GenericError", "Invalid parameter type for 'enable[0]', expected: string", id);
        std::string s = cap.get<std::string>();
        if (s == "oob") return error("GenericError", "Capability 'oob' not available", id);
        return error("GenericError", "Parameter 'enable' does not accept value '" + s + "'", id);
      }
    }
    for (const auto& [key, value] : args.items()) {
      if (key != "enable") return error("GenericError", "Parameter '" + key + "' is unexpected", id);
    }
    negotiated_ = true;
    Json r = {{"return", Json::object()}};
    if (id != nullptr) r["id"] = *id;
    return reply(std::move(r));
  }
  CommandContext context;
  Json r;
  try {
    r = {{"return", table_.execute(name, args, context)}};
  } catch (const CommandError& e) {
    return error(e.error_class(), e.what(), id);
  }
  if (id != nullptr) r["id"] = *id;
  if (context.after_reply) after_reply.push_back(std::move(context.after_reply));
  return reply(std::move(r));
}

std::string QmpSession::format_event(const MachineEvent& event) {
  Json message = {{"timestamp",
                   {{"seconds", event.wall_time_us / 1'000'000}, {"microseconds", event.wall_time_us % 1'000'000}}},
                  {"event", event_name(event.kind)}};
  if (event.kind == MachineEvent::Kind::Shutdown || event.kind == MachineEvent::Kind::Reset) {
    message["data"] = {{"guest", event.guest}, {"reason", event.reason}};
  }
  return message.dump() + "\r\n";
}

}  // namespace vireo
