"""Rebuild the console's gettext catalogues: extract the msgids (English, in the code and templates), merge the
Russian translations below into ``ru/LC_MESSAGES/messages.po``, write ``en`` beside it (msgid = text) and compile
both ``.mo`` files, which are committed so a fresh clone runs without a build step.

    .venv/bin/python -m gateway.console.translations.catalogue

``tests/unit/test_console_catalogue.py`` fails when a string in the code or templates has no Russian translation
or a committed ``.mo`` differs from its ``.po``.
"""

from __future__ import annotations

import io
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po, write_po

HERE = Path(__file__).resolve().parent
CONSOLE = HERE.parent
METHODS = [("**/templates/**.html", "jinja2"), ("**.py", "python")]
KEYWORDS = {"_": None, "gettext": None, "_l": None, "lazy_gettext": None}

RU = {
    "Log in first.": "Сначала войдите.",
    "Your session has expired; log in again. Nothing was changed.":
        "Сеанс истёк; войдите снова. Ничего не изменено.",
    "The form is not valid for this session (missing or wrong security token); nothing was changed. Reload the "
    "page and try again.": "Форма недействительна для этого сеанса (нет или неверен защитный токен); ничего не "
                           "изменено. Обновите страницу и повторите.",
    "No such page.": "Такой страницы нет.",
    "The form is too large.": "Форма слишком велика.",
    "Compliance": "Соблюдение обязанностей",
    "Organisations": "Организации",
    "Discrepancies": "Расхождения",
    "Messages": "Сообщения",
    "Reconciliation": "Сверка",
    "Audit log": "Журнал аудита",
    "Login": "Логин",
    "Password": "Пароль",
    "Note": "Примечание",
    "Reason": "Основание",
    "Your session has expired; log in again.": "Сеанс истёк; войдите снова.",
    "Wrong login or password.": "Неверный логин или пароль.",
    "Too many failed logins from this address; try again in %(minutes)d minutes.":
        "Слишком много неудачных попыток входа с этого адреса; повторите через %(minutes)d мин.",
    "Enter your login and password.": "Введите логин и пароль.",
    "No message %(guid)s.": "Сообщения %(guid)s нет.",
    "Message %(guid)s is not dead: only a dead message is re-queued.":
        "Сообщение %(guid)s не в очереди недоставленных: повторно ставится только такое сообщение.",
    "No such discrepancy.": "Такого расхождения нет.",
    "The form is incomplete: %(fields)s": "Форма заполнена не полностью: %(fields)s",
    "Resolving needs a note: why is it resolved?": "Для закрытия нужно примечание: почему расхождение закрыто?",
    "previous page": "предыдущая страница",
    "page %(n)d": "страница %(n)d",
    "next page": "следующая страница",
    "Action starts with": "Действие начинается с",
    "Show": "Показать",
    "When": "Когда",
    "Who": "Кто",
    "From": "Откуда",
    "Action": "Действие",
    "Target": "Объект",
    "Outcome": "Итог",
    "Detail": "Подробности",
    "None.": "Нет.",
    "dom-gateway console": "Консоль dom-gateway",
    "regulator": "орган контроля",
    "support": "поддержка",
    "provider": "поставщик информации",
    "Log out": "Выйти",
    "Done.": "Выполнено.",
    "Non-posting compliance report": "Отчёт о неразмещении информации",
    "As of": "По состоянию на",
    "Period from": "Период с",
    "to": "по",
    "Region (OKTMO prefix)": "Регион (начало ОКТМО)",
    "Role": "Роль",
    "all": "все",
    "Organisation (GUID)": "Организация (GUID)",
    "Read as of %(moment)s; obligations arising %(start)s – %(end)s; regions: %(regions)s.":
        "Состояние на %(moment)s; обязанности, возникшие %(start)s – %(end)s; регионы: %(regions)s.",
    "Download": "Скачать",
    "In breach": "С нарушениями",
    "With a repeated violation": "С повторными нарушениями",
    "Premises with a cadastral number": "Помещений с кадастровым номером",
    "Organisation": "Организация",
    "Obligation": "Обязанность",
    "Due": "Наступило",
    "On time": "В срок",
    "Late": "С опозданием",
    "Missing": "Не размещено",
    "Repeated": "Повторно",
    "Fill rate": "Заполненность",
    "INN": "ИНН",
    "no obligation due": "обязанностей не наступило",
    "No organisation matches the filters.": "Нет организаций, подходящих под отбор.",
    "Reconciliation discrepancies": "Расхождения сверки",
    "Status": "Статус",
    "open and acknowledged": "открытые и принятые в работу",
    "Job": "Задание",
    "Kind": "Вид",
    "House (FIAS GUID)": "Дом (GUID ФИАС)",
    "Severity": "Важность",
    "Summary": "Суть",
    "Last seen": "Замечено последний раз",
    "fix suggested": "предложено исправление",
    "No discrepancies match.": "Подходящих расхождений нет.",
    "Discrepancy": "Расхождение",
    "Object": "Объект",
    "House": "Дом",
    "Evidence": "Основания",
    "Suggested fix": "Предлагаемое исправление",
    "Work on it": "Работа с расхождением",
    "Acknowledge": "Принять в работу",
    "Resolve": "Закрыть",
    "Reason for applying the fix": "Основание для исправления",
    "Apply the suggested fix": "Применить исправление",
    "History": "История",
    "What": "Что",
    "The request cannot be answered as asked": "Запрос не может быть выполнен в таком виде",
    "Log in again": "Войдите снова",
    "Not allowed": "Доступ запрещён",
    "Not found": "Не найдено",
    "Not done": "Не выполнено",
    "Too large": "Слишком велико",
    "Too many attempts": "Слишком много попыток",
    "Error": "Ошибка",
    "Back to the console": "Вернуться в консоль",
    "As of (date or ISO moment)": "По состоянию на (дата или момент ISO)",
    "As the registry knew it at %(moment)s.": "Так, как реестр знал на %(moment)s.",
    "FIAS house GUID": "GUID дома по ФИАС",
    "Cadastral number": "Кадастровый номер",
    "Total area": "Общая площадь",
    "Year, floors": "Год ввода, этажность",
    "Version": "Версия",
    "Premises": "Помещения",
    "Number": "Номер",
    "Area": "Площадь",
    "Cadastral state": "Кадастровый учёт",
    "residential": "жилое",
    "non-residential": "нежилое",
    "has a number": "номер есть",
    "has no number (stated)": "номера нет (указано)",
    "not registered (stated)": "не учтено (указано)",
    "missing": "не указан",
    "Personal accounts": "Лицевые счета",
    "Unified account number": "ЕЛС",
    "Type": "Тип",
    "Share, per cent": "Доля, процентов",
    "Closed": "Закрыт",
    "the whole house": "весь дом",
    "Metering devices": "Приборы учёта",
    "Resources": "Ресурсы",
    "Next verification": "Следующая поверка",
    "Latest reading": "Последние показания",
    "Decommissioned": "Выведен из эксплуатации",
    "Meeting protocols": "Протоколы общих собраний",
    "Date": "Дата",
    "Quorum": "Кворум",
    "Items adopted (registry's count)": "Принятые вопросы (подсчёт реестра)",
    "Flags": "Отметки",
    "yes": "да",
    "no": "нет",
    "adopted": "принят",
    "not adopted": "не принят",
    "Log in": "Вход",
    "Message": "Сообщение",
    "Requester's MessageGUID": "MessageGUID отправителя",
    "signed by %(org)s under power %(power)s": "подписано %(org)s по полномочию %(power)s",
    "Operation": "Операция",
    "State": "Состояние",
    "Received": "Получено",
    "Attempts": "Попыток",
    "Last error": "Последняя ошибка",
    "Archive": "Архив",
    "BROKEN": "НАРУШЕН",
    "intact: the stored request and result match their archive entries and chain":
        "цел: хранимые запрос и ответ совпадают с записями архива и цепочкой",
    "Re-queue": "Поставить в очередь снова",
    "Per-object results": "Результаты по объектам",
    "Unique number": "Уникальный номер",
    "Updated": "Обновлено",
    "No per-object results (yet).": "Результатов по объектам (пока) нет.",
    "MessageGUID": "MessageGUID",
    "Look up": "Найти",
    "Received from": "Получено с",
    "No messages match.": "Подходящих сообщений нет.",
    "OGRN": "ОГРН",
    "Houses": "Дома",
    "Obligations and their state": "Обязанности и их исполнение",
    "Legal basis": "Основание",
    "Not due yet": "Срок не наступил",
    "not verified against the act": "не сверено с текстом акта",
    "No obligation due in the last twelve months.": "За последние двенадцать месяцев обязанностей не наступало.",
    "Violations": "Нарушения",
    "Due on": "Срок",
    "Posted on": "Размещено",
    "Decrees": "Постановления",
    "Proceeding": "Привлечение",
    "Executed": "Исполнено",
    "Violations (NSI 229)": "Нарушения (НСИ 229)",
    "With a cadastral number": "С кадастровым номером",
    "Within your jurisdiction: OKTMO %(regions)s.": "В пределах вашей юрисдикции: ОКТМО %(regions)s.",
    "Name": "Наименование",
    "Reconciliation: jobs and schedule": "Сверка: задания и расписание",
    "What it does": "Что сверяет",
    "Schedule (UTC)": "Расписание (UTC)",
    "Source": "Источник",
    "by hand only": "только вручную",
    "(the registry itself)": "(сам реестр)",
    "(not configured)": "(не настроен)",
    "Recent runs": "Последние запуски",
    "Started": "Начат",
    "Took": "Длительность",
    "Found": "Найдено",
    "Issues": "Ошибки источника",
    "By": "Кем",
    "running": "выполняется",
    "No run yet.": "Запусков ещё не было.",
    "This page is not for the %(role)s role.": "Эта страница недоступна для роли %(role)s.",
    "No jurisdiction is configured for your organisation.": "Для вашей организации не задана юрисдикция.",
    "Region %(regions)s is outside your jurisdiction (%(yours)s).":
        "Регион %(regions)s вне вашей юрисдикции (%(yours)s).",
    "You can see your own organisation only.": "Вам доступна только ваша организация.",
    "No such organisation.": "Такой организации нет.",
    "The house was not registered at that moment.": "На этот момент дом не был зарегистрирован.",
    "No such house.": "Такого дома нет.",
    "Organisation %(org)s serves no house in your jurisdiction.":
        "Организация %(org)s не обслуживает домов в вашей юрисдикции.",
}


def extract() -> Catalog:
    template = Catalog(project="dom-gateway console", fuzzy=False)
    for _file, _line, message, _comments, _context in extract_from_dir(str(CONSOLE), METHODS, keywords=KEYWORDS):
        if message:
            template.add(message)
    return template


def build() -> list[Path]:
    template = extract()
    written = []
    for lang in ("ru", "en"):
        catalog = Catalog(locale=lang, project="dom-gateway console", fuzzy=False)
        for message in template:
            if message.id:
                catalog.add(message.id, RU.get(str(message.id), "") if lang == "ru" else message.id)
        folder = HERE / lang / "LC_MESSAGES"
        folder.mkdir(parents=True, exist_ok=True)
        with (folder / "messages.po").open("wb") as out:
            write_po(out, catalog, omit_header=False, no_location=True, sort_output=True)
        with (folder / "messages.po").open("rb") as source:
            compiled = read_po(source, locale=lang)
        buffer = io.BytesIO()
        write_mo(buffer, compiled)
        (folder / "messages.mo").write_bytes(buffer.getvalue())
        written += [folder / "messages.po", folder / "messages.mo"]
    return written


if __name__ == "__main__":
    for path in build():
        print(f"wrote {path}")
