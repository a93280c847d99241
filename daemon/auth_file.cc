// daemon/auth_file.cc — loading the -Y file (declared in settings.h, with the other start-up
// parsing). Runs once before any worker starts.
#include <cerrno>
#include <cstring>
#include <fstream>

#include "daemon/settings.h"

namespace kioku::daemon {

bool load_auth_file(const std::string& path, std::vector<AuthUser>* users, std::string* error) {
  std::ifstream file(path);
  if (!file) {
    *error = "Could not open authfile [" + path + "] for reading, error " + std::strerror(errno);
    return false;
  }
  std::string line;
  while (std::getline(file, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    const auto colon = line.find(':');
    if (colon == std::string::npos || colon == 0) continue;
    users->push_back(AuthUser{line.substr(0, colon), line.substr(colon + 1)});
  }
  if (users->empty()) {
    *error = "authfile [" + path + "] holds no user:password line";
    return false;
  }
  return true;
}

}  // namespace kioku::daemon
