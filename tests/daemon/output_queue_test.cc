// Unit tests for daemon/output_queue: ordered, complete writes across partial sendmsg calls,
// zero-copy values that stay valid while the key changes, and buffers returned when drained.
#include <catch2/catch.hpp>

#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "daemon/buffer_pool.h"
#include "daemon/output_queue.h"
#include "slab/cache.h"

using kioku::daemon::BufferPool;
using kioku::daemon::OutputQueue;
using kioku::daemon::OutputPools;
using kioku::daemon::VectorPool;
using kioku::daemon::WriteStatus;

namespace {

struct SocketPair {
  int fds[2] = {-1, -1};
  SocketPair() {
    REQUIRE(socketpair(AF_UNIX, SOCK_STREAM, 0, fds) == 0);
    int small = 4096;
    setsockopt(fds[0], SOL_SOCKET, SO_SNDBUF, &small, sizeof small);
    fcntl(fds[0], F_SETFL, O_NONBLOCK);
    fcntl(fds[1], F_SETFL, O_NONBLOCK);
  }
  ~SocketPair() {
    close(fds[0]);
    close(fds[1]);
  }
  void drain_into(std::string* out) {
    char buf[65536];
    ssize_t n;
    while ((n = read(fds[1], buf, sizeof buf)) > 0) out->append(buf, static_cast<size_t>(n));
  }
};

// Writes everything, reading the peer whenever the socket is full; returns the bytes seen.
std::string flush_all(OutputQueue& queue, SocketPair& pair, int* would_block_count) {
  std::vector<iovec> scratch(16);  // small on purpose: forces several sendmsg rounds
  std::string received;
  for (int rounds = 0; rounds < 100000 && !queue.empty(); ++rounds) {
    size_t written = 0;
    WriteStatus status = queue.write_to(pair.fds[0], scratch, &written);
    REQUIRE(status != WriteStatus::kError);
    if (status == WriteStatus::kWouldBlock) ++*would_block_count;
    pair.drain_into(&received);
  }
  pair.drain_into(&received);
  return received;
}

}  // namespace

TEST_CASE("queued pieces arrive in order across partial writes") {
  BufferPool pool;
  OutputPools pools(pool);
  OutputQueue queue(pools);
  std::string expected;
  for (int i = 0; i < 5000; ++i) {
    std::string piece = "STORED " + std::to_string(i) + "\r\n";
    queue.append(piece);
    expected += piece;
  }
  CHECK(queue.pending_bytes() == expected.size());
  SocketPair pair;
  int blocked = 0;
  CHECK(flush_all(queue, pair, &blocked) == expected);
  CHECK(queue.empty());
  CHECK(queue.pending_bytes() == 0);
  CHECK(blocked > 0);  // the small socket buffer really forced partial writes
}

TEST_CASE("a zero-copy value stays valid after its key is overwritten and deleted") {
  kioku::slab::CacheConfig config;
  config.memory_limit = 8 << 20;
  kioku::slab::Cache cache(config);
  cache.tick(1000);
  const std::string big(100000, 'a');
  REQUIRE(cache.store(kioku::slab::StoreMode::kSet, "key", 0, 0, big) ==
          kioku::slab::StoreResult::kStored);

  BufferPool pool;
  OutputPools pools(pool);
  OutputQueue queue(pools);
  queue.append("VALUE key 0 100000\r\n");
  queue.append_value(cache.get("key"));
  queue.append("\r\nEND\r\n");
  // Replace and delete while the reply is still queued.
  REQUIRE(cache.store(kioku::slab::StoreMode::kSet, "key", 0, 0, std::string(100000, 'b')) ==
          kioku::slab::StoreResult::kStored);
  REQUIRE(cache.remove("key"));

  SocketPair pair;
  int blocked = 0;
  std::string received = flush_all(queue, pair, &blocked);
  CHECK(received == "VALUE key 0 100000\r\n" + big + "\r\nEND\r\n");
}

TEST_CASE("a chunked value goes out zero-copy, one segment per chunk, under one pin") {
  kioku::slab::CacheConfig config;
  config.memory_limit = 32 << 20;
  config.item_size_max = 8 << 20;
  config.background_threads = false;
  kioku::slab::Cache cache(config);
  cache.tick(1000);
  std::string big(3 * 1048576 + 12345, '\0');
  for (std::size_t i = 0; i < big.size(); ++i) big[i] = static_cast<char>('a' + (i * 31) % 26);
  REQUIRE(cache.store(kioku::slab::StoreMode::kSet, "key", 0, 0, big) ==
          kioku::slab::StoreResult::kStored);

  BufferPool pool;
  OutputPools pools(pool);
  OutputQueue queue(pools);
  kioku::slab::ItemRef ref = cache.get("key");
  REQUIRE(!ref.value_segments().contiguous());
  queue.append_value(std::move(ref));
  CHECK(queue.pending_bytes() == big.size());
  // Only bookkeeping is owned: the value bytes stay in item memory.
  CHECK(queue.owned_bytes() < 4096);
  // The pin keeps every chunk while the key is deleted and its memory reused.
  REQUIRE(cache.remove("key"));
  for (int i = 0; i < 3; ++i)
    REQUIRE(cache.store(kioku::slab::StoreMode::kSet, "other" + std::to_string(i), 0, 0,
                        std::string(big.size(), 'z')) == kioku::slab::StoreResult::kStored);

  SocketPair pair;
  int blocked = 0;
  CHECK(flush_all(queue, pair, &blocked) == big);
}

TEST_CASE("a drained queue returns its buffer to the pool") {
  BufferPool pool;
  OutputPools pools(pool);
  OutputQueue queue(pools);
  queue.append("END\r\n");
  SocketPair pair;
  int blocked = 0;
  CHECK(flush_all(queue, pair, &blocked) == "END\r\n");
  // The pool now holds the buffer: taking one gives a standard-size buffer back without the
  // queue holding anything.
  std::vector<char> reused = pool.take();
  CHECK(reused.size() == BufferPool::kBufferSize);
}

TEST_CASE("a cleared queue drops pending bytes") {
  BufferPool pool;
  OutputPools pools(pool);
  OutputQueue queue(pools);
  queue.append("abc");
  CHECK_FALSE(queue.empty());
  queue.clear();
  CHECK(queue.empty());
  CHECK(queue.pending_bytes() == 0);
}

TEST_CASE("VectorPool lends warm capacity and takes it back, leaving the borrower with none") {
  VectorPool<int> pool;
  std::vector<int> first;
  pool.lend(first);  // nothing spare yet: stays without capacity
  CHECK(first.capacity() == 0);
  first.assign({1, 2, 3});
  const int* storage = first.data();
  pool.give(first);
  CHECK(first.capacity() == 0);  // an idle borrower holds no memory
  std::vector<int> second;
  pool.lend(second);
  CHECK(second.empty());
  CHECK(second.capacity() >= 3);
  CHECK(second.data() == storage);  // the same storage, reused rather than reallocated
  std::vector<int> third;
  pool.lend(third);  // the only spare is out
  CHECK(third.capacity() == 0);
}

TEST_CASE("A drained OutputQueue gives its segment list back for the next queue to reuse") {
  BufferPool pool;
  OutputPools pools(pool);
  int fds[2];
  REQUIRE(::socketpair(AF_UNIX, SOCK_STREAM, 0, fds) == 0);
  std::vector<iovec> scratch(16);
  {
    OutputQueue queue(pools);
    queue.append("END\r\n");
    std::size_t written = 0;
    REQUIRE(queue.write_to(fds[0], scratch, &written) == WriteStatus::kDone);
    CHECK(written == 5);
  }
  std::vector<kioku::daemon::OutputSegment> probe;
  pools.segments.lend(probe);
  CHECK(probe.capacity() > 0);  // the first queue's list came back to the pool
  ::close(fds[0]);
  ::close(fds[1]);
}
