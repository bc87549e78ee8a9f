// SecureStore on a small simulated ring of PAST nodes: objects of every size class come back
// exactly, the same object stored by two users is one copy in PAST, padding makes stores
// differ, nothing readable reaches any node's store, and tampered or substituted blocks give
// errors, never wrong bytes.
#include "host/post/secure_store.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>

#include "host/core/crypto.h"
#include "host/core/log.h"
#include "host/core/random.h"
#include "host/past/errors.h"
#include "host/post/errors.h"
#include "tools/post-sim/past_scenario.h"

namespace post::services {
namespace {

using namespace std::chrono_literals;
using sim::PastRing;
using sim::SimNode;

constexpr int kReplicas = 3;

template <class T>
std::string describe(const Result<T>& r) {
  return r.ok() ? "ok" : r.error().to_string();
}

class SecureStoreRing : public ::testing::Test {
 protected:
  SecureStoreRing() {
    sim::SimRingConfig ring;
    ring.nodes = 16;
    ring.seed = 17;
    ring.pastry.leaf_set_size = 8;
    past::PastConfig past;
    past.replicas = kReplicas;
    ring_ = std::make_unique<PastRing>(ring, past);
    EXPECT_TRUE(ring_->build().failed.empty());
    ring_->ring().run_for(20s);
  }

  std::vector<SimNode> members() { return ring_->ring().members(); }

  SecureStore& secure(SimNode node, const Bytes& salt = {}) {
    auto& slot = secure_[{node, salt}];
    if (!slot) {
      SecureStoreConfig config;
      config.salt = salt;
      slot = SecureStore::create(*ring_->past(node), ring_->ring().network().clock(node), config)
                 .value();
    }
    return *slot;
  }

  // Runs the ring until `out` is set (at most two virtual minutes).
  template <class T>
  void run_until(const std::optional<T>& out) {
    for (int i = 0; i < 120 && !out; ++i) ring_->ring().run_for(1s);
    ASSERT_TRUE(out.has_value()) << "no answer within two virtual minutes";
  }

  Result<StoredObject> store(SimNode from, Bytes object, StoreOptions options = {},
                             const Bytes& salt = {}) {
    std::optional<Result<StoredObject>> out;
    secure(from, salt).store(std::move(object), options, [&](Result<StoredObject> r) {
      out = std::move(r);
    });
    run_until(out);
    return out ? std::move(*out) : make_error(PostErrc::kBadOptions, "no answer");
  }

  Result<Bytes> fetch(SimNode from, const Id& handle, const ContentKey& key,
                      const Bytes& salt = {}) {
    std::optional<Result<Bytes>> out;
    secure(from, salt).fetch(handle, key, [&](Result<Bytes> r) { out = std::move(r); });
    run_until(out);
    return out ? std::move(*out) : make_error(PostErrc::kBadOptions, "no answer");
  }

  // Inserts `block` into PAST from `from`, as a writer with its own tools could.
  void insert(SimNode from, const past::Block& block) {
    std::optional<Result<past::InsertResult>> out;
    ring_->past(from)->insert(block, [&](Result<past::InsertResult> r) { out = std::move(r); });
    run_until(out);
    ASSERT_TRUE(out && out->ok()) << (out ? describe(*out) : "no answer");
  }

  // Every block in every store: (node, handle, encoded bytes).
  struct Stored {
    SimNode node;
    Id handle;
    Bytes encoded;
  };
  std::vector<Stored> stored_blocks() {
    std::vector<Stored> all;
    for (SimNode n : members()) {
      past::MemoryBlockStore* store = ring_->store(n);
      std::vector<past::BlockKey> keys;
      store->for_each([&](const past::BlockKey& key, std::uint64_t) {
        keys.push_back(key);
        return true;
      });
      for (const auto& key : keys) {
        auto bytes = store->get(key);
        EXPECT_TRUE(bytes.ok() && *bytes);
        if (bytes.ok() && *bytes) all.push_back({n, key.handle, std::move(**bytes)});
      }
    }
    return all;
  }

  // A member that holds none of `handles` and is none of `avoid`.
  SimNode bystander(const std::vector<Id>& handles, const std::vector<SimNode>& avoid = {}) {
    for (SimNode n : members()) {
      bool ok = std::find(avoid.begin(), avoid.end(), n) == avoid.end();
      for (const Id& h : handles) {
        auto holders = ring_->holders(h);
        ok = ok && std::find(holders.begin(), holders.end(), n) == holders.end();
      }
      if (ok) return n;
    }
    ADD_FAILURE() << "no bystander";
    return members().front();
  }

  std::unique_ptr<PastRing> ring_;
  std::map<std::pair<SimNode, Bytes>, std::unique_ptr<SecureStore>> secure_;  // before ring_ goes
};

TEST_F(SecureStoreRing, SmallOneBlockAndMultiChunkObjectsComeBackExactly) {
  struct Case {
    const char* what;
    Bytes object;
    std::size_t blocks;
  };
  const std::vector<Case> cases = {
      {"small", to_bytes("Subject: hello\r\n\r\nA short note."), 1},
      {"empty", Bytes{}, 1},
      {"exactly one block", Rng(1).bytes(kMaxPieceBodyBytes), 1},
      {"5 MiB", Rng(2).bytes(5 * kChunkBytes), 6},
  };
  auto m = members();
  for (const Case& c : cases) {
    SCOPED_TRACE(c.what);
    auto stored = store(m[1], c.object);
    ASSERT_TRUE(stored.ok()) << describe(stored);
    EXPECT_EQ(stored->blocks, c.blocks);
    EXPECT_EQ(stored->object_bytes, c.object.size());
    EXPECT_EQ(ring_->holders(stored->handle).size(), static_cast<std::size_t>(kReplicas));
    for (SimNode reader : {m[1], m[9]}) {
      auto fetched = fetch(reader, stored->handle, stored->key);
      ASSERT_TRUE(fetched.ok()) << describe(fetched);
      EXPECT_TRUE(*fetched == c.object) << "node " << reader << " got other bytes";
    }
  }
  EXPECT_EQ(secure(m[1]).stats().store_failures, 0u);
  EXPECT_EQ(secure(m[9]).stats().fetch_failures, 0u);
}

TEST_F(SecureStoreRing, TheSameAttachmentFromTwoUsersIsStoredOnce) {
  const Bytes attachment = Rng(3).bytes(kChunkBytes);
  const Bytes large = Rng(4).bytes(5 * kChunkBytes + 17);
  auto m = members();
  for (const Bytes* object : {&attachment, &large}) {
    SCOPED_TRACE(std::to_string(object->size()) + " bytes");
    auto before = stored_blocks().size();
    auto alice = store(m[2], *object);
    auto bob = store(m[11], *object);
    ASSERT_TRUE(alice.ok() && bob.ok()) << describe(alice) << " / " << describe(bob);
    EXPECT_EQ(alice->handle, bob->handle);
    EXPECT_EQ(alice->key, bob->key);
    // Each of the object's blocks is held by exactly k nodes, and nothing else was added.
    std::map<Id, int> copies;
    for (const auto& s : stored_blocks()) ++copies[s.handle];
    const std::size_t blocks = alice->blocks;
    EXPECT_EQ(stored_blocks().size() - before, blocks * kReplicas);
    EXPECT_EQ(copies[alice->handle], kReplicas);
    for (const auto& [handle, n] : copies) EXPECT_EQ(n, kReplicas) << handle.short_hex();
    auto fetched = fetch(m[6], alice->handle, alice->key);
    ASSERT_TRUE(fetched.ok()) << describe(fetched);
    EXPECT_TRUE(*fetched == *object);
  }
}

TEST_F(SecureStoreRing, PaddingMakesTwoStoresOfTheSameShortBodyDifferAndBothComeBack) {
  const Bytes body = to_bytes("yes");
  StoreOptions padded;
  padded.padding_bytes = 32;
  auto m = members();
  auto a = store(m[3], body, padded);
  auto b = store(m[4], body, padded);
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_NE(a->handle, b->handle);
  EXPECT_NE(a->key, b->key);
  // An unpadded store, whose handle anyone who guesses the body can compute, is a third block.
  auto plain = store(m[5], body);
  ASSERT_TRUE(plain.ok());
  EXPECT_NE(plain->handle, a->handle);
  EXPECT_NE(plain->handle, b->handle);
  for (const auto* s : {&*a, &*b}) {
    auto fetched = fetch(m[7], s->handle, s->key);
    ASSERT_TRUE(fetched.ok()) << describe(fetched);
    EXPECT_EQ(*fetched, body);
  }
  EXPECT_EQ(stored_blocks().size(), 3u * kReplicas);
}

TEST_F(SecureStoreRing, SaltedObjectsConvergeWithinTheOrganisationOnly) {
  const Bytes salt = Rng(5).bytes(32);
  const Bytes body = Rng(6).bytes(2000);
  auto m = members();
  auto ours = store(m[1], body, {}, salt);
  auto colleague = store(m[2], body, {}, salt);
  auto outsider = store(m[3], body);
  ASSERT_TRUE(ours.ok() && colleague.ok() && outsider.ok());
  EXPECT_EQ(ours->handle, colleague->handle);
  EXPECT_NE(ours->handle, outsider->handle);
  auto fetched = fetch(m[8], ours->handle, ours->key, salt);
  ASSERT_TRUE(fetched.ok()) << describe(fetched);
  EXPECT_EQ(*fetched, body);
  // A node without the salt cannot check the key, and says why.
  auto unsalted = fetch(m[8], ours->handle, ours->key);
  ASSERT_FALSE(unsalted.ok());
  EXPECT_EQ(unsalted.error().code, PostErrc::kUnknownSalt) << unsalted.error().to_string();
}

TEST_F(SecureStoreRing, NoNodeStoresAnyPlaintextOrAnyChunkKey) {
  std::string text;
  while (text.size() < 4000) text += "Dear Bob, the merger closes on Friday. Keep it quiet. ";
  const Bytes letter = to_bytes(text);
  const Bytes large = Rng(7).bytes(5 * kChunkBytes);
  auto m = members();
  auto a = store(m[1], letter);
  auto b = store(m[2], large);
  ASSERT_TRUE(a.ok() && b.ok());
  // Fetching leaves copies in caches on the way, never in the stores; fetch anyway, so that
  // anything a fetch wrote would be caught too.
  ASSERT_TRUE(fetch(m[10], b->handle, b->key).ok());

  // Needles: every 16-byte window of the letter; 32-byte windows of the large object every
  // 4 KiB (a chunk stored in the clear contains 256 of them); the keys of the object's chunks
  // (read from a local seal of the same object) and of both objects.
  constexpr std::size_t kWindow = 16;
  std::vector<ByteView> needles;
  for (std::size_t i = 0; i + kWindow <= letter.size(); ++i) {
    needles.push_back(ByteView(letter).subspan(i, kWindow));
  }
  for (std::size_t i = 0; i + 32 <= large.size(); i += 4096) {
    needles.push_back(ByteView(large).subspan(i, 32));
  }
  auto sealed = seal_object(large, {});
  ASSERT_TRUE(sealed.ok());
  ASSERT_EQ(sealed->handle, b->handle);
  for (const auto& piece : sealed->pieces) needles.push_back(piece.key);
  needles.push_back(a->key);
  // Every needle is at least 16 bytes: index them by their first 8, scan every offset of every
  // stored block, and compare in full where the first 8 match.
  std::unordered_multimap<std::uint64_t, ByteView> index;
  auto first8 = [](const std::uint8_t* p) {
    std::uint64_t v;
    std::memcpy(&v, p, 8);
    return v;
  };
  for (ByteView n : needles) index.emplace(first8(n.data()), n);
  // The first needle found in any stored block, described; empty when there is none.
  std::size_t scanned = 0;
  auto find_needle = [&]() -> std::string {
    scanned = 0;
    for (const auto& s : stored_blocks()) {
      scanned += s.encoded.size();
      const Bytes& bytes = s.encoded;
      for (std::size_t i = 0; i + kWindow <= bytes.size(); ++i) {
        auto [lo, hi] = index.equal_range(first8(&bytes[i]));
        for (auto it = lo; it != hi; ++it) {
          const ByteView n = it->second;
          if (i + n.size() <= bytes.size() && std::memcmp(&bytes[i], n.data(), n.size()) == 0) {
            return "node " + std::to_string(s.node) + " stores " + std::to_string(n.size()) +
                   " plaintext or key bytes in block " + s.handle.short_hex() + " at offset " +
                   std::to_string(i);
          }
        }
      }
    }
    return "";
  };
  EXPECT_EQ(find_needle(), "");
  EXPECT_GE(scanned, (letter.size() + large.size()) * kReplicas);
  // The scan does find plaintext where there is some: a block holding a slice of the letter.
  Bytes leak(100, 0);
  append(leak, ByteView(letter).subspan(1234, 40));
  ASSERT_TRUE(ring_->store(m[0])
                  ->put(past::BlockKey{Id::hash_of(leak)}, past::make_content_block(leak).encoded)
                  .ok());
  EXPECT_NE(find_needle(), "");
}

TEST_F(SecureStoreRing, AWrongKeyGivesDecryptFailed) {
  auto m = members();
  auto stored = store(m[1], to_bytes("for your eyes only"));
  ASSERT_TRUE(stored.ok());
  ContentKey wrong = stored->key;
  wrong[0] ^= 0x01;
  auto fetched = fetch(m[6], stored->handle, wrong);
  ASSERT_FALSE(fetched.ok());
  EXPECT_EQ(fetched.error().code, PostErrc::kDecryptFailed) << fetched.error().to_string();
}

TEST_F(SecureStoreRing, TamperedReplicasAreRoutedAroundOrGiveAnErrorNamingTheChunk) {
  const Bytes object = Rng(8).bytes(5 * kChunkBytes);
  auto m = members();
  auto stored = store(m[1], object);
  ASSERT_TRUE(stored.ok());
  auto sealed = seal_object(object, {});
  ASSERT_TRUE(sealed.ok());
  const Id chunk1 = sealed->pieces[0].handle;
  const Id chunk3 = sealed->pieces[2].handle;
  // Each replica's ciphertext with one bit flipped, stored under the original handle.
  auto tamper = [&](SimNode node, const Id& handle) {
    auto held = ring_->store(node)->get(past::BlockKey{handle});
    ASSERT_TRUE(held.ok() && *held);
    auto block = past::decode_block(**held).value();
    Bytes content = block.content;
    content[content.size() / 2] ^= 0x04;
    ASSERT_TRUE(ring_->store(node)
                    ->put(past::BlockKey{handle}, past::make_content_block(content).encoded)
                    .ok());
  };
  // One replica of chunk 1 tampered: PAST refuses that copy, takes another, and the object
  // comes back exactly.
  auto holders1 = ring_->holders(chunk1);
  ASSERT_EQ(holders1.size(), static_cast<std::size_t>(kReplicas));
  tamper(holders1[0], chunk1);
  // Every replica of chunk 3 tampered: no valid copy is left anywhere.
  for (SimNode h : ring_->holders(chunk3)) tamper(h, chunk3);

  SimNode reader = bystander({chunk1, chunk3, stored->handle}, {m[1]});
  auto fetched = fetch(reader, stored->handle, stored->key);
  ASSERT_FALSE(fetched.ok());
  EXPECT_EQ(fetched.error().code, past::PastErrc::kNotFound) << fetched.error().to_string();
  EXPECT_NE(fetched.error().message.find("chunk 3 of 5"), std::string::npos)
      << fetched.error().to_string();
  EXPECT_GT(ring_->past(reader)->stats().bad_copies, 0u);

  // With chunk 3 repaired from the writer's copy, the same fetch succeeds despite chunk 1's
  // bad replica.
  for (SimNode h : ring_->holders(chunk3)) {
    ASSERT_TRUE(ring_->store(h)->put(past::BlockKey{chunk3}, sealed->pieces[2].block.encoded).ok());
  }
  auto again = fetch(reader, stored->handle, stored->key);
  ASSERT_TRUE(again.ok()) << describe(again);
  EXPECT_TRUE(*again == object);
}

TEST_F(SecureStoreRing, SubstitutedBlocksFromAKeyHolderAreRefused) {
  const Bytes object = Rng(9).bytes(4 * kChunkBytes + 100);
  auto m = members();
  auto stored = store(m[1], object);
  ASSERT_TRUE(stored.ok());
  auto sealed = seal_object(object, {});
  ASSERT_TRUE(sealed.ok());
  auto manifest =
      decode_manifest(open_piece(sealed->pieces.back().block.content, sealed->key, {})->body);
  ASSERT_TRUE(manifest.ok()) << describe(manifest);

  // A manifest whose chunk 2 points at chunk 4's block: that block is not under chunk 2's key.
  Manifest wrong_chunk = *manifest;
  wrong_chunk.chunks[1].handle = wrong_chunk.chunks[3].handle;
  auto bad_manifest = seal_piece(PieceKind::kManifest, encode_manifest(wrong_chunk), {});
  ASSERT_TRUE(bad_manifest.ok());
  insert(m[4], bad_manifest->block);
  auto fetched = fetch(m[9], bad_manifest->handle, bad_manifest->key);
  ASSERT_FALSE(fetched.ok());
  EXPECT_EQ(fetched.error().code, PostErrc::kDecryptFailed) << fetched.error().to_string();
  EXPECT_NE(fetched.error().message.find("chunk 2 of 5"), std::string::npos)
      << fetched.error().to_string();

  // A block made by someone holding a key, authentic under it, with other content: the key
  // check refuses it.
  const ContentKey& key = sealed->pieces[0].key;
  auto substitute = seal_piece(PieceKind::kData, to_bytes("something else entirely"), {});
  ASSERT_TRUE(substitute.ok());
  Bytes plaintext_header_and_body =
      crypto::aes_gcm_decrypt(substitute->key, kPieceNonce, substitute->block.content,
                              as_bytes(kPieceAssociatedData))
          .value();
  auto forged =
      past::make_content_block(crypto::aes_gcm_encrypt(key, kPieceNonce, plaintext_header_and_body,
                                                       as_bytes(kPieceAssociatedData))
                                   .value());
  insert(m[4], forged);
  auto forged_fetch = fetch(m[9], past::handle_of(forged), key);
  ASSERT_FALSE(forged_fetch.ok());
  EXPECT_EQ(forged_fetch.error().code, PostErrc::kKeyMismatch) << forged_fetch.error().to_string();

  // The handle of a block of another kind.
  auto identity = past::make_public_key_block(crypto::generate_signing_key().private_key, 1,
                                              to_bytes("presence"))
                      .value();
  insert(m[4], identity);
  auto other_kind = fetch(m[9], past::handle_of(identity), stored->key);
  ASSERT_FALSE(other_kind.ok());
  EXPECT_EQ(other_kind.error().code, PostErrc::kWrongBlockKind) << other_kind.error().to_string();

  // And the genuine object is unaffected.
  auto genuine = fetch(m[9], stored->handle, stored->key);
  ASSERT_TRUE(genuine.ok()) << describe(genuine);
  EXPECT_TRUE(*genuine == object);
}

TEST_F(SecureStoreRing, BadOptionsAndOversizedObjectsFailWithoutTouchingPast) {
  auto m = members();
  StoreOptions bad;
  bad.padding_bytes = 3;
  auto refused = store(m[1], to_bytes("x"), bad);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code, PostErrc::kBadOptions);
  EXPECT_EQ(ring_->past(m[1])->stats().inserts, 0u);
  SecureStoreConfig short_salt;
  short_salt.salt = Bytes(4, 1);
  auto created =
      SecureStore::create(*ring_->past(m[1]), ring_->ring().network().clock(m[1]), short_salt);
  ASSERT_FALSE(created.ok());
  EXPECT_EQ(created.error().code, PostErrc::kBadOptions);
}

}  // namespace
}  // namespace post::services
