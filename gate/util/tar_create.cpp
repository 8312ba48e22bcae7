#include "util/archive_io.hpp"
#include "util/cancel.hpp"
#include "util/fs.hpp"
#include "util/log.hpp"
#include "util/tar.hpp"
#include "util/text.hpp"

#include <cerrno>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <vector>

namespace gate::util {

bool excluded(const std::string &relative, const std::vector<std::string> &patterns) {
  for (const auto &p : patterns) {
    if (glob_match(p, relative)) return true;
    if (p.size() > 3 && p.compare(p.size() - 3, 3, "/**") == 0 &&
        relative == p.substr(0, p.size() - 3))
      return true;
  }
  return false;
}

namespace {

struct LinkResolverDeleter {
  void operator()(struct archive_entry_linkresolver *r) const {
    archive_entry_linkresolver_free(r);
  }
};

// Copies one regular file's data into the archive, exactly `size` bytes as
// promised by its header. Returns a note when the file changed under us.
Result<std::string> copy_file_data(struct archive *out, const std::filesystem::path &abs,
                                   int64_t size, const struct stat &before, std::vector<char> &buf,
                                   TarStats &stats, const ProgressFn &progress,
                                   const std::filesystem::path &archive_path) {
  UniqueFd fd(::open(abs.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NOATIME));
  if (!fd && errno == EPERM) fd.reset(::open(abs.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW));
  std::string note;
  if (!fd) note = "vanished or unreadable while archived (" + errno_text(errno) + ")";
  int64_t left = size;
  if (fd) {
    ::posix_fadvise(fd.get(), 0, 0, POSIX_FADV_SEQUENTIAL);
    while (left > 0) {
      if (cancel_requested()) return fail(ErrorKind::interrupted, "interrupted");
      size_t want = static_cast<size_t>(std::min<int64_t>(left, static_cast<int64_t>(buf.size())));
      ssize_t n = ::read(fd.get(), buf.data(), want);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) return fail("unable to read '" + abs.string() + "': " + errno_text(errno));
      if (n == 0) {
        note = "shrank while archived (the archive pads it with zeros)";
        break;
      }
      if (archive_write_data(out, buf.data(), static_cast<size_t>(n)) < 0)
        return fail(archive_failure("write", archive_path, out));
      left -= n;
      stats.content_bytes += static_cast<uint64_t>(n);
      if (progress) progress(stats.content_bytes);
    }
    struct stat after {};
    if (note.empty() && ::fstat(fd.get(), &after) == 0 &&
        (after.st_size != before.st_size || after.st_mtim.tv_sec != before.st_mtim.tv_sec ||
         after.st_mtim.tv_nsec != before.st_mtim.tv_nsec))
      note = "changed while archived";
  }
  if (left > 0) {
    // Keep the archive well-formed: the header promised `size` bytes.
    std::fill(buf.begin(), buf.end(), 0);
    while (left > 0) {
      size_t want = static_cast<size_t>(std::min<int64_t>(left, static_cast<int64_t>(buf.size())));
      if (archive_write_data(out, buf.data(), want) < 0)
        return fail(archive_failure("write", archive_path, out));
      left -= static_cast<int64_t>(want);
      stats.content_bytes += want; // the archive holds them: readers count them too
    }
  }
  return note;
}

// One archive being written: the writer, where it goes, and what was counted.
struct TarWriter {
  struct archive *w;
  const std::filesystem::path &source;
  const std::filesystem::path &out_path;
  const TarCreateOptions &options;
  TarStats stats;
  std::vector<char> buf = std::vector<char>(1 << 20);
};

Result<void> check_source_dir(const std::filesystem::path &source) {
  struct stat root_st {};
  if (::stat(source.c_str(), &root_st) != 0)
    return fail("unable to archive '" + source.string() + "': " + errno_text(errno));
  if (!S_ISDIR(root_st.st_mode))
    return fail("unable to archive '" + source.string() + "': not a directory");
  return {};
}

Result<ArchivePtr> open_disk_reader(const std::filesystem::path &source) {
  ArchivePtr disk(archive_read_disk_new(), ArchiveKind::read);
  struct archive *d = disk.get();
  archive_read_disk_set_symlink_physical(d);
  archive_read_disk_set_standard_lookup(d);
  if (archive_read_disk_open(d, source.c_str()) != ARCHIVE_OK)
    return fail(archive_failure("read", source, d));
  return disk;
}

// Writes one entry's header and, for a regular file with data of its own
// (not a hard link to one already written), its data.
Result<void> write_entry(TarWriter &tw, struct archive_entry *e) {
  std::filesystem::path abs = archive_entry_sourcepath(e) ? archive_entry_sourcepath(e) : "";
  struct stat before = *archive_entry_stat(e);
  if (archive_write_header(tw.w, e) < ARCHIVE_WARN)
    return fail(archive_failure("write", tw.out_path, tw.w));
  ++tw.stats.entries;
  if (archive_entry_filetype(e) != AE_IFREG) return {};
  ++tw.stats.files;
  if (archive_entry_size(e) <= 0 || archive_entry_hardlink(e)) return {};
  TRY_ASSIGN(std::string note, copy_file_data(tw.w, abs, archive_entry_size(e), before, tw.buf,
                                              tw.stats, tw.options.progress, tw.out_path));
  if (!note.empty()) {
    std::string rel = entry_name(e);
    log_warn("{}: {}", (tw.source / rel).lexically_normal().string(), note);
    tw.stats.changed.push_back(rel + ": " + note);
  }
  return {};
}

enum class NextEntry { entry, skip, end };

// Reads the next entry from disk. A warning is recorded and the entry kept;
// a file that vanished between listing and reading is a change, not a fatal
// error: recorded, and the entry skipped.
Result<NextEntry> read_next_entry(struct archive *d, struct archive_entry *entry, TarWriter &tw) {
  int r = archive_read_next_header2(d, entry);
  if (r == ARCHIVE_EOF) return NextEntry::end;
  if (r == ARCHIVE_WARN) {
    std::string msg = archive_message(d, "warning");
    log_warn("{}: {}", entry_name(entry), msg);
    tw.stats.warnings.push_back(msg);
  } else if (r != ARCHIVE_OK) {
    std::string msg = archive_message(d, "unreadable entry");
    if (r == ARCHIVE_FAILED) {
      log_warn("{}", msg);
      tw.stats.changed.push_back(msg);
      return NextEntry::skip;
    }
    return fail("unable to archive '" + tw.source.string() + "': " + msg);
  }
  return NextEntry::entry;
}

// The name an entry has in the archive: relative to the source root, "." for
// the root itself.
std::string relative_name(const std::string &abs, const std::string &root) {
  if (abs == root) return ".";
  if (abs.size() > root.size() && abs.compare(0, root.size(), root) == 0)
    return abs.substr(root == "/" ? 1 : root.size() + 1);
  return abs;
}

using LinkResolverPtr = std::unique_ptr<struct archive_entry_linkresolver, LinkResolverDeleter>;

// Walks the source tree, writing every entry not excluded. Hard links go
// through the resolver so that a file's data is stored once.
Result<void> write_tree(TarWriter &tw, struct archive *d, LinkResolverPtr &resolver) {
  std::string root = tw.source.string();
  while (!root.empty() && root.size() > 1 && root.back() == '/')
    root.pop_back();
  while (true) {
    if (cancel_requested()) return fail(ErrorKind::interrupted, "interrupted");
    ArchiveEntryPtr entry(archive_entry_new());
    TRY_ASSIGN(NextEntry next, read_next_entry(d, entry.get(), tw));
    if (next == NextEntry::end) break;
    if (next == NextEntry::skip) continue;
    std::string abs = entry_name(entry.get());
    std::string rel = relative_name(abs, root);
    if (rel != "." && excluded(rel, tw.options.exclude))
      continue; // not descending skips a directory's contents
    if (archive_read_disk_can_descend(d)) archive_read_disk_descend(d);
    archive_entry_copy_sourcepath(entry.get(), abs.c_str());
    archive_entry_copy_pathname(entry.get(), rel.c_str());

    struct archive_entry *e = entry.release();
    struct archive_entry *spare = nullptr;
    archive_entry_linkify(resolver.get(), &e, &spare);
    ArchiveEntryPtr own_e(e), own_spare(spare);
    if (e) TRY(write_entry(tw, e));
    if (spare) TRY(write_entry(tw, spare));
  }
  return {};
}

// Flushes hard links whose other names were never seen.
Result<void> write_pending_links(TarWriter &tw, LinkResolverPtr &resolver) {
  while (true) {
    struct archive_entry *e = nullptr;
    struct archive_entry *spare = nullptr;
    archive_entry_linkify(resolver.get(), &e, &spare);
    if (!e) break;
    ArchiveEntryPtr own(e);
    TRY(write_entry(tw, e));
  }
  return {};
}

} // namespace

Result<TarStats> tar_create(const std::filesystem::path &source,
                            const std::filesystem::path &out_path,
                            const TarCreateOptions &options) {
  TRY(check_source_dir(source));
  TRY_ASSIGN(auto sink, HashingFileOutput::create(out_path, options.growth));
  ArchivePtr out(archive_write_new(), ArchiveKind::write);
  struct archive *w = out.get();
  TRY(set_write_codec(w, options.codec));
  archive_write_set_format_pax_restricted(w);
  TRY(open_write(w, *sink, out_path));
  TRY_ASSIGN(ArchivePtr disk, open_disk_reader(source));
  LinkResolverPtr resolver(archive_entry_linkresolver_new());
  archive_entry_linkresolver_set_strategy(resolver.get(), ARCHIVE_FORMAT_TAR_PAX_RESTRICTED);

  TarWriter tw{w, source, out_path, options, {}};
  TRY(write_tree(tw, disk.get(), resolver));
  TRY(write_pending_links(tw, resolver));
  if (archive_write_close(w) != ARCHIVE_OK) {
    TRY(sink->check());
    return fail(archive_failure("write", out_path, w));
  }
  out.reset();
  TRY_ASSIGN(auto totals, sink->finish());
  tw.stats.archive_bytes = totals.bytes;
  tw.stats.sha256 = totals.sha256;
  return tw.stats;
}

} // namespace gate::util
