from backend.serve import main

main()
