// client/codec.cc — see codec.h: the protocol names and the factory over the implementations.
#include "client/codec.h"

#include "client/binary_codec.h"
#include "client/meta_bench_codec.h"
#include "client/text_codec.h"

namespace kioku::client {

std::string_view protocol_name(Protocol protocol) noexcept {
  switch (protocol) {
    case Protocol::kText:
      return "text";
    case Protocol::kMeta:
      return "meta";
    case Protocol::kBinary:
      break;
  }
  return "binary";
}

std::unique_ptr<Codec> make_codec(Protocol protocol) {
  switch (protocol) {
    case Protocol::kText:
      return std::make_unique<TextCodec>();
    case Protocol::kMeta:
      return std::make_unique<MetaBenchCodec>();
    case Protocol::kBinary:
      return std::make_unique<BinaryCodec>();
  }
  return nullptr;
}

}  // namespace kioku::client
