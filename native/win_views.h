// Windows views that can be retired in place: the file view replaced by
// zero pages at the same address, without the range ever being free in
// between, through the placeholder API (Windows 10 1803 and later). Where
// placeholders do not work (older Windows; Wine 8, which exports the
// functions but ignores or refuses their flags), a view stays mapped until
// it is released, which is also safe: the range is never free early.
#ifndef PORTABLE_MMAP_WIN_VIEWS_H_
#define PORTABLE_MMAP_WIN_VIEWS_H_
#ifdef _WIN32

#include <cstddef>
#include <cstdint>

namespace pmm {
namespace win {

// Where a view stands.
enum ViewState : uint8_t {
  kViewMapped,        // the file's view
  kViewRetired,       // zero pages (read-write): reads give 0, writes go nowhere
  kViewKept,          // retired, but the file's view is still there (no placeholders, or no commit)
  kViewReservedOnly,  // retired, reserved without access: the last resort, an access faults
};

// A view; `section` is kept (a duplicate) only for views in placeholders, to
// map the view back should the zero pages fail to commit.
struct View {
  uint8_t* addr;
  size_t length;
  size_t span;  // length rounded up to the page size: the placeholder's size
  uint64_t offset;
  uint32_t protect;  // the PAGE_* protection of the view
  void* section;     // HANDLE
  bool placeholder;
  ViewState state;
};

// Whether placeholders really work here, found out once by running their
// whole cycle on a small section and checking each step with VirtualQuery.
bool PlaceholdersWork();

// Maps [offset, offset + length) of `section` with `protect` (PAGE_READONLY,
// PAGE_READWRITE, PAGE_WRITECOPY or an EXECUTE variant), into a placeholder
// where they work. Returns 0 or a Win32 error code.
uint32_t MapView(void* section, uint64_t offset, size_t length, uint32_t protect, View* out);

// The PAGE_* protection of a view with FILE_MAP_* `access`.
uint32_t ProtectionOf(uint32_t access);

// Retires the view; afterwards the range is still ours (see ViewState).
void RetireView(View* v);

// Gives the range back; only once nothing can point into it any more.
void ReleaseView(View* v);

}  // namespace win
}  // namespace pmm

#endif  // _WIN32
#endif  // PORTABLE_MMAP_WIN_VIEWS_H_
