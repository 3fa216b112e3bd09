/* Integration test against the daemon: written in the next commit. */
int main(void);
int main(void) { return 77; }
