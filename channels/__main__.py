from channels.serve import main

main()
