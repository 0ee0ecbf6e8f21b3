// CheckpointManager: keep-last-K pruning, a failed write that leaves the older checkpoints as they
// were, resume selection that skips damaged checkpoints (and says why), clean-up of interrupted
// writes; and the trainer-level pieces a rollback uses (AdamW reset, the NaN hook).
#include "tandem/train/checkpoint_manager.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "support/expect_error.h"
#include "support/test_models.h"
#include "tandem/core/error.h"
#include "tandem/io/file.h"
#include "tandem/io/manifest.h"
#include "tandem/train/checkpoint.h"

namespace fs = std::filesystem;

namespace tandem {
namespace {

std::string fresh_root(const std::string& name) {
  const std::string root = ::testing::TempDir() + "/tandem_ckpts_" + name;
  fs::remove_all(root);
  return root;
}

// A checkpoint whose files say which step wrote them.
auto writer(int64_t step) {
  return [step](const std::string& tmp) {
    write_file_atomic(tmp + "/state.txt", "step " + std::to_string(step));
    write_file_atomic(tmp + "/weights.bin", std::string(4096, char(step)));
  };
}

std::vector<int64_t> steps(const CheckpointManager& m) {
  std::vector<int64_t> out;
  for (const CheckpointRef& r : m.list()) out.push_back(r.step);
  return out;
}

TEST(CheckpointManager, KeepsTheLastK) {
  CheckpointManager m(fresh_root("keep"), 3);
  for (int64_t s = 10; s <= 50; s += 10) {
    EXPECT_EQ(m.save(s, writer(s)), m.dir_for(s));
    EXPECT_EQ(verify_manifest(m.dir_for(s)), "");
  }
  EXPECT_EQ(steps(m), (std::vector<int64_t>{30, 40, 50}));
  EXPECT_THROW(m.save(50, writer(50)), Error) << "a step is written once";
  CheckpointManager all(m.root(), 0);
  all.save(60, writer(60));
  EXPECT_EQ(steps(all), (std::vector<int64_t>{30, 40, 50, 60}));
  // Only step-N folders count: not temporaries, rejected ones or stray files.
  fs::create_directories(m.root() + "/.tmp-step-000070");
  fs::create_directories(m.root() + "/rejected-step-000080");
  write_file_atomic(m.root() + "/step-notes", "x");
  EXPECT_EQ(steps(all), (std::vector<int64_t>{30, 40, 50, 60}));
  EXPECT_EQ(m.dir_for(1234567), m.root() + "/step-1234567");
}

TEST(CheckpointManager, AFailedWriteLeavesTheOlderOnes) {
  CheckpointManager m(fresh_root("fail"), 2);
  m.save(10, writer(10));
  m.save(20, writer(20));
  EXPECT_THROW(m.save(30,
                      [](const std::string& tmp) {
                        write_file_atomic(tmp + "/state.txt", "half");
                        fail("{}/weights.bin: write failed: no space left on device", tmp);
                      }),
               Error);
  EXPECT_EQ(steps(m), (std::vector<int64_t>{10, 20})) << "nothing pruned for a failed write";
  EXPECT_FALSE(fs::exists(m.root() + "/.tmp-step-000030"));
  EXPECT_EQ(m.latest_valid().checkpoint->step, 20);
  EXPECT_EQ(read_file(m.dir_for(20) + "/state.txt"), "step 20");
}

TEST(CheckpointManager, ResumeSkipsDamagedCheckpointsAndSaysWhy) {
  CheckpointManager m(fresh_root("damaged"), 0);
  for (int64_t s : {10, 20, 30, 40}) m.save(s, writer(s));
  fs::resize_file(m.dir_for(40) + "/weights.bin", 100);  // truncated
  {
    std::fstream f(m.dir_for(30) + "/state.txt", std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(2);
    f.put('X');  // one byte changed
  }
  fs::remove(m.dir_for(20) + "/manifest.json");  // never sealed
  const auto peek = m.latest_valid();
  ASSERT_TRUE(peek.checkpoint);
  EXPECT_EQ(peek.checkpoint->step, 10);
  ASSERT_EQ(peek.notes.size(), 3u);
  EXPECT_NE(peek.notes[0].find("step-000040"), std::string::npos) << peek.notes[0];
  EXPECT_NE(peek.notes[0].find("weights.bin: 100 bytes"), std::string::npos) << peek.notes[0];
  EXPECT_NE(peek.notes[1].find("state.txt: CRC-32"), std::string::npos) << peek.notes[1];
  EXPECT_NE(peek.notes[2].find("manifest.json: missing"), std::string::npos) << peek.notes[2];
  EXPECT_EQ(steps(m).size(), 4u) << "latest_valid changes nothing";

  fs::create_directories(m.root() + "/.tmp-step-000050");
  write_file_atomic(m.root() + "/.tmp-step-000050/weights.bin", "partial");
  const auto c = m.prepare_resume();
  EXPECT_EQ(c.checkpoint->step, 10);
  EXPECT_EQ(steps(m), (std::vector<int64_t>{10}));
  EXPECT_FALSE(fs::exists(m.root() + "/.tmp-step-000050"));
  EXPECT_TRUE(fs::exists(m.root() + "/rejected-step-000040/weights.bin"));
  m.save(20, writer(20));  // the rejected steps can be written again
  EXPECT_EQ(m.latest_valid().checkpoint->step, 20);
}

TEST(CheckpointManager, NoCheckpointMeansAFreshStart) {
  CheckpointManager m(fresh_root("none"), 3);
  EXPECT_FALSE(m.latest_valid().checkpoint);
  EXPECT_FALSE(m.prepare_resume().checkpoint);  // the folder need not exist
  m.save(5, writer(5));
  fs::resize_file(m.dir_for(5) + "/weights.bin", 0);
  const auto c = m.prepare_resume();
  EXPECT_FALSE(c.checkpoint);
  EXPECT_TRUE(m.list().empty());
}

TEST(CheckpointManager, PublishedCopyVerifiesAndSurvivesPruning) {
  CheckpointManager m(fresh_root("copy"), 1);
  m.save(1, writer(1));
  const std::string model = m.root() + "/../copy_model";
  fs::create_directories(model);
  write_file_atomic(model + "/old.txt", "replaced");
  publish_checkpoint_copy(m.dir_for(1), model);
  EXPECT_FALSE(fs::exists(model + "/old.txt"));
  m.save(2, writer(2));  // prunes step 1
  EXPECT_FALSE(fs::exists(m.dir_for(1)));
  EXPECT_EQ(verify_manifest(model), "");
  EXPECT_EQ(read_file(model + "/state.txt"), "step 1");
}

TEST(CheckpointManager, OneWriterAtATime) {
  const std::string root = fresh_root("lock");
  {
    CheckpointManager a(root, 3), b(root, 3);
    a.lock();
    a.lock();  // again by the holder: fine
    EXPECT_THROW(b.lock(), Error);
  }
  CheckpointManager c(root, 3);
  c.lock();  // released with its holder
}

TEST(Checkpoint, DamagedCheckpointDoesNotLoad) {
  auto be = make_backend("cpu");
  const ModelConfig cfg = test::tiny_config();
  Transformer a(*be, cfg);
  a.init_random(3);
  Trainer t(a, TrainConfig{});
  const std::string dir = fresh_root("load");
  TrainerState st;
  st.step = 4, st.adam_step = 4, st.seed = 3, st.data_position = 9;
  save_checkpoint(dir, t, st);
  EXPECT_EQ(verify_manifest(dir), "");
  Transformer b(*be, cfg);
  Trainer tb(b, TrainConfig{});
  EXPECT_EQ(load_checkpoint(dir, tb).data_position, 9);
  EXPECT_EQ(a.read_params(), b.read_params());
  std::fstream f(dir + "/model.safetensors", std::ios::in | std::ios::out | std::ios::binary);
  f.seekp(-3, std::ios::end);
  f.put('\x7f');
  f.close();
  test::expect_error([&] { load_checkpoint(dir, tb); }, {"model.safetensors: CRC-32"});
}

TEST(Trainer, NanHookSkipsOneStepAndResetRestartsAdam) {
  auto be = make_backend("cpu");
  const ModelConfig cfg = test::tiny_config();
  Transformer m(*be, cfg);
  m.init_random(5);
  Trainer t(m, TrainConfig{});
  Batch b{2, 6, std::vector<int32_t>(12, 3), std::vector<int32_t>(12, 4), {}};
  const auto before = m.read_params();
  t.inject_nan_gradient();
  EXPECT_TRUE(t.step(std::span(&b, 1)).skipped);
  EXPECT_EQ(m.read_params(), before);
  EXPECT_FALSE(t.step(std::span(&b, 1)).skipped) << "the hook fires once";
  EXPECT_EQ(t.optimizer().step(), 1);
  t.optimizer().reset();
  EXPECT_EQ(t.optimizer().step(), 0);
  const Moments mom = t.optimizer().moments();
  for (float x : mom.m) ASSERT_EQ(x, 0.0f);
  for (float x : mom.v) ASSERT_EQ(x, 0.0f);
}

}  // namespace
}  // namespace tandem
