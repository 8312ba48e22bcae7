#include <gtest/gtest.h>
TEST(Placeholder, Builds) { EXPECT_TRUE(true); }
int main(int c,char**v){return 0;}
