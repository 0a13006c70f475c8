from tests.bench.users_list import main

if __name__ == "__main__":
    main()
