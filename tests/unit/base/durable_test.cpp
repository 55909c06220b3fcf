// Tests for the durable file helpers: whole-or-nothing writes, replacement of an existing file,
// nested directory creation, and clear errors. Each test works in its own temporary directory.
#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>

#include "base/durable.hpp"

namespace tern::base {
namespace {

namespace fs = std::filesystem;

class DurableTest : public ::testing::Test {
protected:
    void SetUp() override {
        std::string tmpl = (fs::temp_directory_path() / "tern-durable-XXXXXX").string();
        ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
        dir = tmpl;
    }
    void TearDown() override { fs::remove_all(dir); }
    static std::string slurp(const fs::path& p) {
        std::ifstream in(p, std::ios::binary);
        return std::string(std::istreambuf_iterator<char>(in), {});
    }
    fs::path dir;
};

TEST_F(DurableTest, WritesAndReplacesWholeFilesWithTheirMode) {
    auto file = dir / "secret";
    ASSERT_TRUE(write_file_durably(file, "first\n"));
    EXPECT_EQ(slurp(file), "first\n");
    ASSERT_TRUE(write_file_durably(file, "second, longer\n"));
    EXPECT_EQ(slurp(file), "second, longer\n");
    EXPECT_FALSE(fs::exists(dir / "secret.tmp"));
    struct stat st{};
    ASSERT_EQ(::stat(file.c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0600u);
}

TEST_F(DurableTest, CreatesNestedDirectories) {
    auto nested = dir / "a" / "b" / "c";
    ASSERT_TRUE(create_directories_durably(nested));
    EXPECT_TRUE(fs::is_directory(nested));
    ASSERT_TRUE(create_directories_durably(nested));  // already there: fine
}

TEST_F(DurableTest, FailuresSayWhat) {
    auto r = write_file_durably(dir / "missing" / "file", "x");
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, ENOENT);
    EXPECT_NE(r.error().message.find("missing"), std::string::npos);
    EXPECT_FALSE(fsync_directory(dir / "nope"));
}

}  // namespace
}  // namespace tern::base
