#include "util/xml.hpp"

#include <charconv>
#include <cstdint>

namespace gate::util {

namespace {

constexpr int k_max_depth = 64;

bool is_space(char c) {
  return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

bool is_name_start(unsigned char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_' || c == ':' || c >= 0x80;
}

bool is_name_char(unsigned char c) {
  return is_name_start(c) || (c >= '0' && c <= '9') || c == '-' || c == '.';
}

void append_utf8(std::string &out, uint32_t cp) {
  if (cp < 0x80) {
    out.push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out.push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

// `ref` is what lies between '&' and ';'.
Result<void> decode_entity(std::string_view ref, std::string &out) {
  static const std::pair<std::string_view, char> named[] = {
      {"amp", '&'}, {"lt", '<'}, {"gt", '>'}, {"quot", '"'}, {"apos", '\''}};
  for (const auto &[entity, c] : named) {
    if (ref == entity) {
      out.push_back(c);
      return {};
    }
  }
  if (ref.size() < 2 || ref[0] != '#') return fail("unknown entity '&" + std::string(ref) + ";'");
  const bool hex = ref[1] == 'x';
  std::string_view digits = ref.substr(hex ? 2 : 1);
  uint32_t cp = 0;
  auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), cp, hex ? 16 : 10);
  const bool allowed = cp == 0x9 || cp == 0xA || cp == 0xD || (cp >= 0x20 && cp <= 0xD7FF) ||
                       (cp >= 0xE000 && cp <= 0xFFFD) || (cp >= 0x10000 && cp <= 0x10FFFF);
  if (digits.empty() || ec != std::errc{} || end != digits.data() + digits.size() || !allowed)
    return fail("invalid character reference '&" + std::string(ref) + ";'");
  append_utf8(out, cp);
  return {};
}

class Parser {
public:
  explicit Parser(std::string_view document) : m_doc(document) {}

  Result<XmlElement> document() {
    if (starts("\xEF\xBB\xBF")) m_pos += 3;
    TRY(skip_misc());
    if (at_end()) return error("no root element");
    if (m_doc[m_pos] != '<') return error("text before the root element");
    TRY_ASSIGN(auto root, element(1));
    TRY(skip_misc());
    if (!at_end()) return error("content after the root element");
    return root;
  }

private:
  std::string_view m_doc;
  size_t m_pos = 0;

  bool at_end() const { return m_pos >= m_doc.size(); }
  bool starts(std::string_view s) const { return m_doc.substr(m_pos).starts_with(s); }

  std::unexpected<Error> error(const std::string &what) const {
    size_t line = 1, col = 1;
    for (size_t i = 0; i < m_pos && i < m_doc.size(); ++i) {
      if (m_doc[i] == '\n') {
        ++line;
        col = 1;
      } else {
        ++col;
      }
    }
    return fail("malformed XML at " + std::to_string(line) + ":" + std::to_string(col) + ": " +
                what);
  }

  void skip_space() {
    while (!at_end() && is_space(m_doc[m_pos]))
      ++m_pos;
  }

  // Skips up to and including `terminator`, which must come.
  Result<std::string_view> until(std::string_view terminator, const char *what) {
    size_t end = m_doc.find(terminator, m_pos);
    if (end == std::string_view::npos) return error(std::string("unterminated ") + what);
    std::string_view inside = m_doc.substr(m_pos, end - m_pos);
    m_pos = end + terminator.size();
    return inside;
  }

  // Whitespace, comments and processing instructions between elements.
  // Skips one comment or processing instruction at the cursor; false when there is none.
  Result<bool> skip_comment_or_pi() {
    if (starts("<!--")) {
      m_pos += 4;
      TRY(until("-->", "comment"));
      return true;
    }
    if (starts("<?")) {
      m_pos += 2;
      TRY(until("?>", "processing instruction"));
      return true;
    }
    return false;
  }

  Result<void> skip_misc() {
    while (true) {
      skip_space();
      TRY_ASSIGN(bool skipped, skip_comment_or_pi());
      if (skipped) continue;
      if (starts("<!")) return error("DOCTYPE and declarations are not accepted");
      return {};
    }
  }

  Result<std::string> name() {
    size_t start = m_pos;
    if (at_end() || !is_name_start(static_cast<unsigned char>(m_doc[m_pos])))
      return error("expected a name");
    while (!at_end() && is_name_char(static_cast<unsigned char>(m_doc[m_pos])))
      ++m_pos;
    return std::string(m_doc.substr(start, m_pos - start));
  }

  Result<std::string> decoded(std::string_view raw) {
    auto text = xml_decode_entities(raw);
    if (!text) return error(text.error().message);
    return text;
  }

  Result<void> attributes(XmlElement &element, bool &self_closing) {
    while (true) {
      bool had_space = !at_end() && is_space(m_doc[m_pos]);
      skip_space();
      if (at_end()) return error("unterminated start tag <" + element.name + ">");
      if (starts("/>") || m_doc[m_pos] == '>') {
        self_closing = m_doc[m_pos] == '/';
        m_pos += self_closing ? 2 : 1;
        return {};
      }
      if (!had_space) return error("expected a space before an attribute");
      TRY_ASSIGN(auto key, name());
      skip_space();
      if (at_end() || m_doc[m_pos] != '=') return error("expected '=' after '" + key + "'");
      ++m_pos;
      skip_space();
      if (at_end() || (m_doc[m_pos] != '"' && m_doc[m_pos] != '\''))
        return error("expected a quoted value for '" + key + "'");
      const char quote[2] = {m_doc[m_pos++], '\0'};
      TRY_ASSIGN(auto raw, until(quote, "attribute value"));
      if (raw.find('<') != std::string_view::npos) return error("'<' in an attribute value");
      TRY_ASSIGN(auto value, decoded(raw));
      element.attributes.emplace_back(std::move(key), std::move(value));
    }
  }

  Result<XmlElement> element(int depth) {
    if (depth > k_max_depth) return error("elements nested deeper than 64 levels");
    ++m_pos; // '<'
    XmlElement out;
    TRY_ASSIGN(out.name, name());
    bool self_closing = false;
    TRY(attributes(out, self_closing));
    if (!self_closing) TRY(content(out, depth));
    return out;
  }

  // Character data, CDATA, comments, PIs and children up to the end tag.
  Result<void> content(XmlElement &out, int depth) {
    while (true) {
      size_t lt = m_doc.find('<', m_pos);
      if (lt == std::string_view::npos) return error("unclosed element <" + out.name + ">");
      TRY_ASSIGN(auto text, decoded(m_doc.substr(m_pos, lt - m_pos)));
      out.text += text;
      m_pos = lt;
      if (starts("</")) {
        m_pos += 2;
        TRY_ASSIGN(auto closing, name());
        skip_space();
        if (closing != out.name || at_end() || m_doc[m_pos] != '>')
          return error("</" + closing + "> does not close <" + out.name + ">");
        ++m_pos;
        return {};
      }
      if (starts("<![CDATA[")) {
        m_pos += 9;
        TRY_ASSIGN(auto cdata, until("]]>", "CDATA section"));
        out.text += cdata;
      } else if (starts("<!--") || starts("<?")) {
        TRY(skip_comment_or_pi());
      } else if (starts("<!")) {
        return error("declarations are not accepted inside elements");
      } else {
        TRY_ASSIGN(auto child, element(depth + 1));
        out.children.push_back(std::move(child));
      }
    }
  }
};

} // namespace

Result<std::string> xml_decode_entities(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '&') {
      out.push_back(text[i]);
      continue;
    }
    size_t semicolon = text.find(';', i);
    if (semicolon == std::string_view::npos || semicolon - i > 12)
      return fail("unterminated entity at '" + std::string(text.substr(i, 12)) + "'");
    TRY(decode_entity(text.substr(i + 1, semicolon - i - 1), out));
    i = semicolon;
  }
  return out;
}

Result<XmlElement> parse_xml(std::string_view document) {
  return Parser(document).document();
}

const XmlElement *XmlElement::child(std::string_view child_name) const {
  for (const auto &c : children)
    if (c.name == child_name) return &c;
  return nullptr;
}

std::string XmlElement::child_text(std::string_view child_name) const {
  const XmlElement *c = child(child_name);
  return c ? c->text : std::string();
}

std::vector<const XmlElement *> XmlElement::children_named(std::string_view child_name) const {
  std::vector<const XmlElement *> out;
  for (const auto &c : children)
    if (c.name == child_name) out.push_back(&c);
  return out;
}

std::string xml_escape(std::string_view text) {
  std::string out;
  for (char c : text) {
    switch (c) {
    case '&':
      out += "&amp;";
      break;
    case '<':
      out += "&lt;";
      break;
    case '>':
      out += "&gt;";
      break;
    case '"':
      out += "&quot;";
      break;
    case '\'':
      out += "&apos;";
      break;
    default:
      if (static_cast<unsigned char>(c) < 0x20 && c != '\n' && c != '\t')
        out += ' ';
      else
        out.push_back(c);
    }
  }
  return out;
}

} // namespace gate::util
