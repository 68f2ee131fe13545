int main( { return
class {
