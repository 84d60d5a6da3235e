// AccountingStore: records upserted by id, an open one taking the hardware's absolute counts
// (a repeated interim changes nothing), a closed one never written again (a final record read
// twice from the export ring after a restart counts once), the open record of a port found
// again, the queries by subscriber, time and state, and exporters fed after each commit.
#include "roamgate/accounting/records.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <string>

namespace roamgate::accounting {
namespace {

struct TempDb {
  std::string dir;
  TempDb() {
    char t[] = "/tmp/acct-test.XXXXXX";
    dir = mkdtemp(t);
  }
  ~TempDb() { std::system(("rm -rf " + dir).c_str()); }
  std::string path() const { return dir + "/accounting.db"; }
};

Record rec(std::string id, std::string imsi, std::string started, uint16_t port) {
  Record r;
  r.id = std::move(id);
  r.appliance = "gate-a";
  r.imsi = std::move(imsi);
  r.msisdn = "491510000001";
  r.teid = 7;
  r.terminalIp = 0xc6130001;
  r.terminalPort = 40000;
  r.dstIp = 0xc6120a0a;
  r.dstPort = 443;
  r.proto = 6;
  r.natIp = 0xc6120301;
  r.natPort = port;
  r.services = {"web"};
  r.servers = {"198.18.11.2:8443"};
  r.started = std::move(started);
  return r;
}

TEST(AccountingStore, WrittenOnceNeverDoubleCounted) {
  TempDb t;
  auto s = AccountingStore::open(t.path());
  ASSERT_TRUE(s.ok()) << s.status().message();
  Record open = rec("gate-a/198.18.3.1:2000/g1/2026-12-02T01:00:00.000Z", "001010000000001",
                    "2026-12-02T01:00:00.000Z", 2000);
  ASSERT_EQ(*(*s)->write({open}), 1u);
  Record interim = open;
  interim.ulPkts = 10;
  interim.ulBytes = 1000;
  interim.interims = 1;
  ASSERT_EQ(*(*s)->write({interim, interim}), 2u) << "an interim twice: the same absolute counts";
  Record final = interim;
  final.ulPkts = 12;
  final.ulBytes = 1200;
  final.dlPkts = 3;
  final.ended = "2026-12-02T01:05:00.000Z";
  final.cause = "idle";
  ASSERT_EQ(*(*s)->write({final}), 1u);
  Record again = final;
  again.ulPkts = 99;  // a later write of the same user session (read again after a restart)
  EXPECT_EQ(*(*s)->write({again, interim}), 0u) << "a closed record is never written again";
  auto got = (*s)->get(open.id);
  ASSERT_TRUE(got.ok() && *got);
  EXPECT_EQ(**got, final);
  // Reopened from disk: the same.
  s->reset();
  auto s2 = AccountingStore::open(t.path());
  ASSERT_TRUE(s2.ok());
  got = (*s2)->get(open.id);
  ASSERT_TRUE(got.ok() && *got);
  EXPECT_EQ(**got, final);
}

TEST(AccountingStore, OpenRecordOfAPortAndQueries) {
  TempDb t;
  auto s = AccountingStore::open(t.path());
  ASSERT_TRUE(s.ok());
  Record a = rec("a", "001010000000001", "2026-12-02T01:00:00.000Z", 2000);
  a.cause = "fin";
  a.ended = "2026-12-02T01:01:00.000Z";
  Record b = rec("b", "001010000000001", "2026-12-02T02:00:00.000Z", 2000);  // the port again
  Record c = rec("c", "001010000000002", "2026-12-02T03:00:00.000Z", 3000);
  ASSERT_EQ(*(*s)->write({a, b, c}), 3u);
  auto o = (*s)->findOpen("gate-a", 0xc6120301, 2000);
  ASSERT_TRUE(o.ok() && *o);
  EXPECT_EQ((*o)->id, "b") << "the open one, not the ended one on the same port";
  EXPECT_FALSE(*(*s)->findOpen("gate-a", 0xc6120301, 2001));
  EXPECT_FALSE(*(*s)->findOpen("gate-b", 0xc6120301, 2000));
  Query q;
  q.imsi = "001010000000001";
  auto l = (*s)->list(q);
  ASSERT_TRUE(l.ok());
  ASSERT_EQ(l->size(), 2u);
  EXPECT_EQ((*l)[0].id, "b") << "newest first";
  q.finalOnly = true;
  l = (*s)->list(q);
  ASSERT_EQ(l->size(), 1u);
  EXPECT_EQ((*l)[0].id, "a");
  Query since;
  since.since = "2026-12-02T02:30:00.000Z";
  l = (*s)->list(since);
  ASSERT_EQ(l->size(), 1u);
  EXPECT_EQ((*l)[0].id, "c");
  Query few;
  few.limit = 2;
  EXPECT_EQ((*s)->list(few)->size(), 2u);
}

struct Collect : Exporter {
  std::vector<Record> got;
  void exported(const Record& r) override { got.push_back(r); }
};

TEST(AccountingStore, ExportersGetEachWrittenRecordOnceAfterTheCommit) {
  TempDb t;
  auto s = AccountingStore::open(t.path());
  ASSERT_TRUE(s.ok());
  Collect a, b;
  (*s)->addExporter(&a);
  (*s)->addExporter(&b);
  Record open = rec("x", "001010000000001", "2026-12-02T01:00:00.000Z", 2000);
  Record final = open;
  final.cause = "rst";
  final.ended = "2026-12-02T01:00:01.000Z";
  final.ulPkts = 4;
  ASSERT_EQ(*(*s)->write({open, final}), 2u);
  ASSERT_EQ(*(*s)->write({final}), 0u) << "read twice: written once";
  ASSERT_EQ(a.got.size(), 2u);
  EXPECT_EQ(a.got[0], open);
  EXPECT_EQ(a.got[1], final);
  EXPECT_EQ(b.got, a.got);
}

TEST(AccountingStore, UnopenablePathIsNamed) {
  auto s = AccountingStore::open("/nonexistent-dir/x/accounting.db");
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.status().message().find("/nonexistent-dir/x/accounting.db"), std::string::npos);
}

}  // namespace
}  // namespace roamgate::accounting
