// kiokud entry point (placeholder until the daemon lands).
int main() { return 0; }
