from igrt_edits.cli import main

main()
