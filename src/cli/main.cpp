#include <cstdio>
int main() { std::puts("nsbox"); return 0; }
