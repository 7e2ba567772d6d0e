"""`python -m assistant.knowledge.check [ROOT]`: schema check of the knowledge base.

Prints one `file:line: problem` per problem and exits 1 if there is any.
"""
from __future__ import annotations

import sys
from pathlib import Path

from assistant.knowledge.loader import check_knowledge_base
from assistant.settings import KNOWLEDGE_BASE_DIR


def main(argv: list[str]) -> int:
    root = Path(argv[0]) if argv else KNOWLEDGE_BASE_DIR
    kb, problems = check_knowledge_base(root)
    for problem in problems:
        print(problem)
    print(f"{len(kb.procedures)} thủ tục, {len(kb.faq)} câu hỏi thường gặp, {len(problems)} lỗi")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
