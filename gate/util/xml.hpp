// A small, strict XML reader for the documents S3 answers with.
//
// Why not a library: libexpat is on this machine only as a dependency of
// Python's and fontconfig's dev packages, not of anything gate builds with,
// so using it would add a dependency to every build and CI image; S3 replies
// are small, flat and entity-free apart from the five predefined entities and
// character references. This reader accepts exactly that subset of XML 1.0
// and rejects the rest (DTDs, unknown entities, mismatched or unclosed tags)
// as an error value: it never throws and never recurses deeper than 64 levels.
#pragma once

#include "util/expected.hpp"

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace gate::util {

// One element: its name as written (prefix included), its attributes, the
// decoded character data directly inside it (concatenated, whitespace kept)
// and its child elements in document order.
struct XmlElement {
  std::string name;
  std::vector<std::pair<std::string, std::string>> attributes;
  std::string text;
  std::vector<XmlElement> children;

  // The first child named `name`, or null.
  const XmlElement *child(std::string_view child_name) const;
  // The text of the first child named `name`, or an empty string.
  std::string child_text(std::string_view child_name) const;
  // Every child named `name`, in document order.
  std::vector<const XmlElement *> children_named(std::string_view child_name) const;
};

// Parses a whole document: an optional BOM, XML declaration, comments and
// processing instructions around exactly one root element. Fails with a
// message naming line:col for malformed, truncated or unsupported input
// (DOCTYPE, unknown entities, more than one root, text outside the root).
Result<XmlElement> parse_xml(std::string_view document);

// Decodes &amp; &lt; &gt; &quot; &apos; and &#N; / &#xH; references in
// `text`. Fails on an unknown or unterminated entity, or a reference to a
// character XML does not allow (NUL, surrogates, beyond U+10FFFF).
Result<std::string> xml_decode_entities(std::string_view text);

// `text` as XML character data or attribute value: & < > " ' escaped, and
// the control characters XML 1.0 cannot hold (all below 0x20 but tab and
// newline) replaced by a space.
std::string xml_escape(std::string_view text);

} // namespace gate::util
