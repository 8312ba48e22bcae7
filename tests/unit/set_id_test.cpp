// Host tags in set ids: what keeps hosts sharing a bucket prefix apart.
#include "model/set_id.hpp"

#include <gtest/gtest.h>

using gate::model::host_tag;
using gate::model::id_has_host_tag;

TEST(SetId, AHostTagIsTheShortHostNameInLowercaseLettersDigitsAndDashes) {
  EXPECT_EQ(host_tag("Web1.example.com"), "web1");
  EXPECT_EQ(host_tag("db_primary  (eu)"), "db-primary-eu");
  EXPECT_EQ(host_tag(""), "host");
  EXPECT_EQ(host_tag(std::string(80, 'a')).size(), 32u);
}

TEST(SetId, AnIdBelongsToTheHostWhoseTagIsRightBeforeItsTimestamp) {
  EXPECT_TRUE(id_has_host_tag("pre-deployment-web-20261201_161530", "web"));
  EXPECT_TRUE(id_has_host_tag("scheduled-web-20261201_161530-2", "web"));
  // Host "web" never claims the sets of host "web-2", nor untagged ones.
  EXPECT_FALSE(id_has_host_tag("scheduled-web-2-20261201_161530", "web"));
  EXPECT_TRUE(id_has_host_tag("scheduled-web-2-20261201_161530", "web-2"));
  EXPECT_FALSE(id_has_host_tag("scheduled-20261201_161530", "web"));
  EXPECT_FALSE(id_has_host_tag("scheduled-web-20261201_16153", "web"));
  EXPECT_FALSE(id_has_host_tag("scheduled-web-20261201_161530-x", "web"));
}
